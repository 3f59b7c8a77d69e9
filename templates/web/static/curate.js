// Drag a story within its section; on drop, the section's new order is posted like any other
// form (the same CSRF token and edition version), and the page comes back with it saved.
// htmx swaps in new lists after every saved change, so each new list is set up as it arrives.
let dragged = null;
function setUp(root) {
  for (const list of root.querySelectorAll("ol[data-order-form]")) {
    if (list.dataset.dragReady) continue;
    list.dataset.dragReady = "1";
    for (const item of list.querySelectorAll(":scope > li[data-entry]")) {
      item.draggable = true;
      item.addEventListener("dragstart", (event) => {
        dragged = item;
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", item.dataset.entry);
      });
      item.addEventListener("dragover", (event) => {
        if (!dragged || dragged.parentElement !== list || dragged === item) return;
        event.preventDefault();
        const box = item.getBoundingClientRect();
        const after = event.clientY > box.top + box.height / 2;
        list.insertBefore(dragged, after ? item.nextSibling : item);
      });
      item.addEventListener("dragend", () => {
        if (!dragged) return;
        dragged = null;
        const form = document.getElementById(list.dataset.orderForm);
        const order = [...list.querySelectorAll(":scope > li[data-entry]")].map((li) => li.dataset.entry);
        form.querySelector("input[name=order]").value = order.join(",");
        form.requestSubmit();
      });
    }
  }
}
document.addEventListener("DOMContentLoaded", () => setUp(document));
document.addEventListener("htmx:load", (event) => setUp(event.detail.elt));
