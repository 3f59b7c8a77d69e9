"""Draft -> MJML -> HTML, and the plain-text alternative (pure given the templates)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
from mjml import mjml2html

from briefing.compose.context import FLAG_TEXTS, SEGMENT_LABELS, Draft, DraftEntry, date_label
from briefing.errors import ComposeError
from briefing.resources import data_path

SIZE_BUDGET = 100_000  # bytes of HTML; Gmail clips at about 102 KB


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    html: str
    text: str

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode("utf-8"))


@cache
def _environments(folder: Path) -> tuple[jinja2.Environment, jinja2.Environment]:
    loader = jinja2.FileSystemLoader(folder)
    # Autoescape is forced on: feed text must never become markup in the email.
    html = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    text = jinja2.Environment(
        loader=loader,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    return html, text


def balance_text(entry: DraftEntry) -> str:
    """ "mixed middle 3 · right-leaning 2 · local 1": which audiences a story reaches."""
    return " · ".join(f"{SEGMENT_LABELS.get(s, s)} {n}" for s, n in entry.balance.items())


def preheader(draft: Draft) -> str:
    """The inbox's preview line: the headlines after the one the subject already shows."""
    titles = [e.title for e in draft.entries[1:4]]
    if not titles:
        return "No other migration stories today" if draft.entries else "No migration stories today"
    return "Also today: " + "; ".join(titles)


def render_email(draft: Draft, list_address: str, templates: Path | None = None) -> RenderedEmail:
    html_env, text_env = _environments(templates or data_path("templates/email"))
    entries = draft.entries
    local, _, domain = list_address.partition("@")
    context = {
        "draft": draft,
        "date_label": date_label(draft.edition),
        "entry_count": len(entries),
        "outlet_count": len(
            {e.outlet for e in entries} | {a.outlet for e in entries for a in e.also}
        ),
        "segment_labels": SEGMENT_LABELS,
        "balance_text": balance_text,
        "flag_texts": FLAG_TEXTS,
        "preheader": preheader(draft),
        "list_name": local or "briefing",
        "leave_address": f"{local}+unsubscribe@{domain}" if domain else "",
    }
    mjml = html_env.get_template("edition.mjml").render(context)
    try:
        html = mjml2html(mjml, disable_comments=True, fonts={})
    except Exception as e:  # mjml-python raises bare errors for bad markup
        raise ComposeError("the MJML template did not render") from e
    text = text_env.get_template("edition.txt").render(context)
    return RenderedEmail(draft.subject, html, text)
