"""The curation app over plain HTTP (in process): sign-in, roles, CSRF, throttling, conflicts,
escaping, and every edit reaching the email."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from briefing.config.settings import Settings, load_settings
from briefing.db.engine import session_scope
from briefing.db.models import AuditEntry, CurationEvent, Edition, EditionStatus, ItemLabel
from briefing.db.users import add_user
from briefing.pipeline import Context, compose
from briefing.web.app import create_app
from briefing.web.security import LoginThrottle
from tests.rank.test_stage import HARMONDSWORTH, LIST, add_item, at

DAY = date(2026, 3, 10)
PASSWORD = "a long passphrase"
XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


@pytest.fixture
def ctx(database_url: str) -> Iterator[Context]:
    settings = load_settings(
        {
            "BRIEFING_DATABASE_URL": database_url,
            "BRIEFING_LIST_ADDRESS": LIST,
            "BRIEFING_SECRET_KEY": "test-secret-key-for-sessions",
        }
    )
    ctx = Context(settings)
    add_item(ctx.engine, "BBC News", at(9, 20), *HARMONDSWORTH)
    add_item(ctx.engine, "Daily Mail", at(9, 21), *HARMONDSWORTH)
    add_item(
        ctx.engine,
        "Sky News",
        at(9, 22),
        f"Hotel protest {XSS}",
        f"Summary {XSS}",
        topic="community-tensions",
    )
    add_item(
        ctx.engine,
        "The Guardian",
        at(9, 23),
        "Family reunion route reopens",
        "Refugees will need to show an income.",
        topic="safe-routes-resettlement",
    )
    compose(ctx, DAY)
    with session_scope(ctx.engine) as session:
        for name, role in (("ed", "editor"), ("vi", "viewer"), ("ad", "admin")):
            add_user(session, name, PASSWORD, role, f"{name}@example.org")
    yield ctx
    ctx.close()


def token(page_text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page_text)
    assert found is not None
    return found[1]


def version(page_text: str) -> int:
    found = re.search(r'name="version" value="(\d+)"', page_text)
    assert found is not None
    return int(found[1])


OPEN: list[TestClient] = []  # every app a test made, closed after it


@pytest.fixture(autouse=True)
def _close_apps() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().app.state.context.close()  # type: ignore[attr-defined]


def app_client(settings: Settings, throttle: LoginThrottle | None = None) -> TestClient:
    client = TestClient(create_app(settings, throttle=throttle))
    OPEN.append(client)
    return client


def signed_in(ctx: Context, username: str, throttle: LoginThrottle | None = None) -> TestClient:
    client = app_client(ctx.settings, throttle)
    csrf = token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return client


def entries(ctx: Context) -> dict[str, int]:
    with session_scope(ctx.engine, write=False) as session:
        edition = session.scalars(select(Edition)).one()
        return {e.item.title: e.id for e in edition.entries}


def post(client: TestClient, path: str, **form: object) -> str:
    page = client.get(f"/editions/{DAY}")
    data = {"csrf": token(page.text), "version": version(page.text)} | form
    response = client.post(f"/editions/{DAY}{path}", data=data)
    assert response.status_code == 200
    return response.text


def test_an_editor_curates_and_every_change_reaches_the_email(ctx: Context) -> None:
    editor = signed_in(ctx, "ed")
    ids = entries(ctx)
    harmondsworth = ids[HARMONDSWORTH[0]]
    page = post(
        editor,
        f"/entries/{harmondsworth}/edit",
        title="Harmondsworth: damning report",
        summary="Inspectors found worse conditions.",
    )
    assert "Saved." in page
    post(editor, "/intro", text="No edition on Friday.")
    reunion = ids["Family reunion route reopens"]
    post(editor, f"/entries/{reunion}/remove", reason="low_value")
    with session_scope(ctx.engine, write=False) as session:
        html = session.scalars(select(Edition.html)).one()
    assert "Harmondsworth: damning report" in html and "No edition on Friday." in html
    assert "Family reunion route reopens" not in html
    post(editor, f"/entries/{reunion}/restore")
    with session_scope(ctx.engine, write=False) as session:
        assert "Family reunion route reopens" in session.scalars(select(Edition.html)).one()
        events = [e.action for e in session.scalars(select(CurationEvent))]
        audit = [a.action for a in session.scalars(select(AuditEntry))]
    assert events == ["edit", "remove", "restore"] or set(events) >= {"remove", "restore"}
    assert {"login", "edit", "intro", "remove", "restore"} <= set(audit)


def test_a_stale_page_gets_a_conflict_not_a_silent_overwrite(ctx: Context) -> None:
    first, second = signed_in(ctx, "ed"), signed_in(ctx, "ad")
    stale = first.get(f"/editions/{DAY}").text
    post(second, "/intro", text="Mine.")
    response = first.post(
        f"/editions/{DAY}/intro",
        data={"csrf": token(stale), "version": version(stale), "text": "Theirs."},
    )
    assert "someone else changed this edition" in response.text
    with session_scope(ctx.engine, write=False) as session:
        assert session.scalars(select(Edition.intro)).one() == "Mine."


def test_state_changes_need_the_csrf_token(ctx: Context) -> None:
    editor = signed_in(ctx, "ed")
    page = editor.get(f"/editions/{DAY}").text
    for sent in ("", "forged-token"):
        response = editor.post(
            f"/editions/{DAY}/intro", data={"csrf": sent, "version": version(page), "text": "x"}
        )
        assert response.status_code == 403
    with session_scope(ctx.engine, write=False) as session:
        assert session.scalars(select(Edition.intro)).one() == ""
    # A login form posted from another site has no token either.
    anonymous = app_client(ctx.settings)
    refused = anonymous.post("/login", data={"username": "ed", "password": PASSWORD, "csrf": "x"})
    assert refused.status_code == 403


def test_viewers_read_and_only_editors_change(ctx: Context) -> None:
    viewer = signed_in(ctx, "vi")
    page = viewer.get(f"/editions/{DAY}")
    assert page.status_code == 200 and "Approve" not in page.text and "Remove" not in page.text
    response = viewer.post(
        f"/editions/{DAY}/approve",
        data={"csrf": token(page.text), "version": 1, "when": "now"},
    )
    assert response.status_code == 403
    with session_scope(ctx.engine, write=False) as session:
        assert session.scalars(select(Edition.status)).one() == EditionStatus.DRAFT


def test_approving_for_now_asks_the_scheduler_to_send(ctx: Context) -> None:
    editor = signed_in(ctx, "ed")
    page = post(editor, "/approve", when="now")
    assert "within a minute" in page
    with session_scope(ctx.engine, write=False) as session:
        edition = session.scalars(select(Edition)).one()
        assert edition.status == EditionStatus.APPROVED and edition.send_requested_at is not None


def test_failed_logins_are_throttled(ctx: Context) -> None:
    throttle = LoginThrottle(per_name=3)
    client = app_client(ctx.settings, throttle)
    csrf = token(client.get("/login").text)
    codes = [
        client.post(
            "/login", data={"username": "ed", "password": "wrong", "csrf": csrf}
        ).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    right = client.post("/login", data={"username": "ed", "password": PASSWORD, "csrf": csrf})
    assert right.status_code == 429 and "Try again in" in right.text  # even the right password


def test_feed_text_is_inert_in_the_page_and_the_email(ctx: Context) -> None:
    editor = signed_in(ctx, "ed")
    page = editor.get(f"/editions/{DAY}").text
    email = editor.get(f"/editions/{DAY}/email.html").text
    for html in (page, email):
        assert "<script>alert(1)</script>" not in html
        assert 'onerror="alert(2)"' not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    headers = editor.get(f"/editions/{DAY}").headers
    assert "script-src" not in headers["content-security-policy"]  # 'self' only, by default-src
    assert "default-src 'self'" in headers["content-security-policy"]


def test_sign_out_ends_the_session(ctx: Context) -> None:
    editor = signed_in(ctx, "ed")
    page = editor.get(f"/editions/{DAY}").text
    editor.post("/logout", data={"csrf": token(page)})
    assert editor.get(f"/editions/{DAY}", follow_redirects=False).status_code == 303


def test_sessions_end_when_an_account_is_disabled(ctx: Context) -> None:
    editor = signed_in(ctx, "ed")
    with session_scope(ctx.engine) as session:
        from briefing.db.users import set_disabled

        set_disabled(session, "ed")
    assert editor.get(f"/editions/{DAY}", follow_redirects=False).status_code == 303


def test_feed_health_and_outlet_pages(ctx: Context) -> None:
    with session_scope(ctx.engine) as session:
        from briefing.db.models import Item

        stray = session.scalars(select(Item)).first()
        assert stray is not None
        stray.outlet_id, stray.publisher_domain = None, "newsroom.example.org"
        stray.publisher_name = "Example Newsroom"
        stray.published_at = datetime.now(UTC)  # the page lists the last 30 days
    viewer, editor, admin = signed_in(ctx, "vi"), signed_in(ctx, "ed"), signed_in(ctx, "ad")
    assert "Feed health" in viewer.get("/feeds").text
    page = viewer.get("/outlets").text
    assert "Example Newsroom" in page and "Assign" not in page  # viewers only read
    forbidden = viewer.post(
        "/outlets/assign",
        data={"csrf": token(page), "domain": "newsroom.example.org", "segment": "local-regional"},
    )
    assert forbidden.status_code == 403
    page = editor.get("/outlets").text
    done = editor.post(
        "/outlets/assign",
        data={"csrf": token(page), "domain": "newsroom.example.org", "segment": "local-regional"},
    )
    assert "Example Newsroom now counts as local" in done.text
    with session_scope(ctx.engine, write=False) as session:
        label = session.get(ItemLabel, stray.id)
        assert label is not None and label.segment == "local-regional"
    assert "Switch off" not in editor.get("/outlets").text  # feeds are the admin's
    assert "Known outlets" in admin.get("/outlets").text


def test_why_a_story_is_there(ctx: Context) -> None:
    viewer = signed_in(ctx, "vi")
    entry_id = entries(ctx)[HARMONDSWORTH[0]]
    page = viewer.get(f"/editions/{DAY}/entries/{entry_id}/why")
    assert page.status_code == 200 and "Score" in page.text
    assert "Relevance" in page.text or "keyword baseline" in page.text


def test_an_unknown_outcome_says_what_to_do(ctx: Context) -> None:
    with session_scope(ctx.engine) as session:
        session.scalars(select(Edition)).one().status = EditionStatus.UNKNOWN
    page = signed_in(ctx, "vi").get(f"/editions/{DAY}").text
    assert "outcome unknown: check the group archive" in page


def test_adding_by_url_refuses_private_addresses_from_the_page(ctx: Context) -> None:
    editor = signed_in(ctx, "ed")
    page = editor.get(f"/editions/{DAY}").text
    for url in (
        "http://127.0.0.1:9/story",
        "http://10.0.0.1/story",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
    ):
        response = editor.post(f"/editions/{DAY}/add", data={"csrf": token(page), "url": url})
        assert response.status_code == 200 and 'class="problem"' in response.text, url
    with session_scope(ctx.engine, write=False) as session:
        assert len(session.scalars(select(Edition)).one().entries) == 3  # nothing added


def test_adding_by_url_from_a_loopback_page_with_the_test_setting(ctx: Context) -> None:
    from tests.loopback import Reply, loopback_server

    article = (
        "<html><head><title>Asylum appeals backlog hits record, figures show</title>"
        '<meta name="description" content="Tribunal waits now average a year."></head>'
        "<body><article><h1>Asylum appeals backlog hits record</h1>"
        + "<p>The number of asylum appeals waiting for a hearing rose again.</p>" * 20
        + "</article></body></html>"
    ).encode()
    settings = ctx.settings.model_copy(update={"fetch_allow_private": True})
    with loopback_server() as site:
        url = site.add("/news/appeals", Reply(200, article, {"Content-Type": "text/html"}))
        client = app_client(settings)
        csrf = token(client.get("/login").text)
        client.post("/login", data={"username": "ed", "password": PASSWORD, "csrf": csrf})
        page = client.get(f"/editions/{DAY}").text
        done = client.post(
            f"/editions/{DAY}/add",
            data={"csrf": token(page), "url": url, "section": "asylum-system"},
        )
    assert "Added" in done.text and "Asylum appeals backlog" in done.text
    with session_scope(ctx.engine, write=False) as session:
        edition = session.scalars(select(Edition)).one()
        assert "Asylum appeals backlog" in edition.html  # in the email at once
        added = [e for e in edition.entries if e.added_by_editor]
        assert [e.section for e in added] == ["asylum-system"]


def test_admins_manage_accounts_and_nobody_else_can(ctx: Context) -> None:
    editor, admin = signed_in(ctx, "ed"), signed_in(ctx, "ad")
    assert editor.get("/users").status_code == 403
    page = admin.get("/users").text
    added = admin.post(
        "/users",
        data={"csrf": token(page), "username": "new", "password": PASSWORD, "role": "viewer"},
    )
    assert "Added new (viewer)." in added.text
    demoted = admin.post("/users/ed", data={"csrf": token(page), "role": "viewer"})
    assert "ed saved." in demoted.text
    assert "Approve" not in editor.get(f"/editions/{DAY}").text  # a viewer now
    itself = admin.post(
        "/users/ad", data={"csrf": token(page), "role": "admin", "disabled": "true"}
    )
    assert "cannot disable or demote yourself" in itself.text
    forged = editor.post(
        "/users", data={"csrf": "x", "username": "z", "password": PASSWORD, "role": "admin"}
    )
    assert forged.status_code == 403
    with session_scope(ctx.engine, write=False) as session:
        actions = {a.action for a in session.scalars(select(AuditEntry))}
    assert {"user_add", "user_edit"} <= actions
