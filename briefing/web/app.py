"""The web app: sign in, the draft beside the email exactly as it will be sent, curation and
approval. Thin: every change is one call into briefing.curate or briefing.deliver.

Every page works without JavaScript (plain forms, each answered by a redirect back); htmx,
vendored under /static, swaps the workspace instead of reloading the page when it can.
"""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.middleware.sessions import SessionMiddleware

from briefing.archive.queries import (
    EditionView,
    curation_view,
    edition_stamp,
    edition_view,
    feed_health,
    last_successful_fetch,
    latest_edition_date,
    outlets,
    stored_email,
    unknown_publishers,
)
from briefing.classify.model import ItemText
from briefing.compose.context import FLAG_TEXTS, SEGMENT_LABELS, date_label
from briefing.compose.render import SIZE_BUDGET, balance_text
from briefing.config.settings import Settings
from briefing.config.taxonomy import default_taxonomy
from briefing.curate import actions
from briefing.curate import outlets as outlet_actions
from briefing.curate.add import AddStoryParts, add_story_by_url
from briefing.db import lease
from briefing.db.engine import DatabaseError, session_scope
from briefing.db.models import Edition
from briefing.db.users import (
    Account,
    add_user,
    audit,
    authenticate,
    list_users,
    set_disabled,
    set_role,
)
from briefing.errors import BriefingError, NotFoundError, UsageError
from briefing.pipeline import Context, compose, send_test
from briefing.resources import data_path
from briefing.web.archive import ArchiveParts, add_archive
from briefing.web.security import (
    SESSION_USER,
    LoginRequired,
    LoginThrottle,
    check_csrf,
    csrf_token,
    require,
    signed_in,
)

log = logging.getLogger("briefing.web")

# The email is shown in a sandboxed frame: its CSS cannot leak into the page, no script runs.
EMAIL_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
# The pages themselves: our own script and styles only, no frames from elsewhere.
PAGE_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SESSION_HOURS = 12
PAGE_CACHE = 64  # rendered draft pages kept (a few editions, a few people each)
CSRF_SLOT = "__briefing_csrf_token__"

Token = Annotated[str, Form()]
Version = Annotated[int, Form()]  # the edition version the page showed


def create_app(settings: Settings, *, throttle: LoginThrottle | None = None) -> FastAPI:
    ctx = Context(settings)
    engine = ctx.engine
    taxonomy = default_taxonomy()
    throttle = throttle or LoginThrottle()
    sections = ["top-stories", *taxonomy.topics, "europe", "international"]
    section_titles = {
        "top-stories": "Top stories",
        **taxonomy.topics,
        "europe": "Europe",
        "international": "International",
    }
    templates = Jinja2Templates(directory=data_path("templates/web"))
    env = templates.env
    env.filters["date_label"] = date_label
    env.globals |= {
        "segment_labels": SEGMENT_LABELS,
        "size_budget": SIZE_BUDGET,
        "flag_texts": FLAG_TEXTS,
        "balance_text": balance_text,
        "sections": sections,
        "section_titles": section_titles,
        "reasons": actions.REMOVE_REASONS,
    }
    secret = settings.secret_key.get_secret_value()
    if not secret:
        log.warning("secret_key is not set: sign-ins will not survive a restart")
        secret = secrets.token_urlsafe(32)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.close()  # the database connections go back cleanly on shutdown

    app = FastAPI(title="briefing", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.context = ctx  # for whoever runs the app without its lifespan (tests)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="briefing_session",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=settings.web_secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=data_path("templates/web/static")), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[..., object]) -> Response:
        response: Response = await call_next(request)  # type: ignore[misc]
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        # The query is kept, so that a shared /archive?q=… or /stats?… link survives signing in.
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)

    def page(request: Request, name: str, status: int = 200, **values: object) -> Response:
        values |= {"user": signed_in(engine, request), "csrf": csrf_token(request)}
        return templates.TemplateResponse(request, name, values, status_code=status)

    # --- signing in and out --------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        return page(request, "login.html", next=_local(next), error=None)

    @app.post("/login")
    def login(
        request: Request,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        *,
        csrf: Token = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        check_csrf(request, csrf)
        address = request.client.host if request.client else "?"
        wait = throttle.wait_seconds(username, address)
        if wait:
            minutes = -(-wait // 60)
            return page(
                request,
                "login.html",
                429,
                next=_local(next),
                error=f"Too many failed attempts. Try again in {minutes} minutes.",
            )
        with session_scope(engine) as session:
            user = authenticate(session, username[:100], password[:1000], datetime.now(UTC))
            audit(
                session,
                user.id if user else None,
                "login" if user else "login_failed",
                username[:100],
            )
        if user is None:
            throttle.failed(username, address)
            return page(
                request, "login.html", 401, next=_local(next), error="Wrong user name or password."
            )
        throttle.succeeded(username)
        request.session.clear()  # a new session: nothing from before signing in carries over
        request.session[SESSION_USER] = user.id
        return RedirectResponse(_local(next), status_code=303)

    @app.post("/logout")
    def logout(request: Request, *, csrf: Token = "") -> Response:
        check_csrf(request, csrf)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # --- pages ---------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        require(engine, request, "viewer")
        day = latest_edition_date(engine, settings.list_address)
        if day is None:
            return page(request, "empty.html")
        return RedirectResponse(f"/editions/{day.isoformat()}", status_code=303)

    def view_or_404(day: date) -> EditionView:
        try:
            return edition_view(engine, taxonomy, day, settings.list_address)
        except NotFoundError:
            raise HTTPException(404, f"There is no edition for {day}.") from None

    # Rendered draft pages by (day, edition stamp, user): a page is rebuilt only after a
    # change, so ten people reading it at 7am cost one render. The CSRF token, which is per
    # session, goes in after.
    rendered: OrderedDict[tuple[object, ...], str] = OrderedDict()

    @app.get("/editions/{day}", response_class=HTMLResponse)
    def edition_page(request: Request, day: date, notice: str = "", problem: str = "") -> Response:
        user = require(engine, request, "viewer")
        stamp = edition_stamp(engine, day, settings.list_address)
        if stamp is None:
            raise HTTPException(404, f"There is no edition for {day}.")
        key = (day, stamp, user.username, user.role, notice[:300], problem[:300])
        html = rendered.get(key)
        if html is None:
            view = view_or_404(day)
            panel = curation_view(engine, day, settings.list_address)
            html = env.get_template("edition.html").render(
                user=user,
                csrf=CSRF_SLOT,
                view=view,
                panel=panel,
                drafted={e.item_id: e for e in view.draft.entries},
                can_edit=user.can("editor") and panel.status in actions.EDITABLE,
                notice=notice[:300],
                problem=problem[:300],
            )
            if not (notice or problem):  # one-off messages are not worth keeping
                rendered[key] = html
                while len(rendered) > PAGE_CACHE:
                    rendered.popitem(last=False)
        return HTMLResponse(html.replace(CSRF_SLOT, csrf_token(request)))

    @app.get("/editions/{day}/email.html", response_class=HTMLResponse)
    def edition_email(request: Request, day: date) -> Response:
        require(engine, request, "viewer")
        html = stored_email(engine, day, settings.list_address)
        if html is None:
            raise HTTPException(404, f"There is no edition for {day}.")
        return HTMLResponse(html, headers={"Content-Security-Policy": EMAIL_CSP})

    # --- curation: each form posts here and is sent back to the page -----------------------

    def change(
        request: Request,
        day: date,
        csrf: str,
        version: int,
        do: Callable[[Session, Edition, Account], str | None],
        rebuild: bool = True,
    ) -> Response:
        """Check the token and the role, apply one change in one transaction, re-render the
        email so the preview shows it, and go back to the page with what happened."""
        check_csrf(request, csrf)
        user = require(engine, request, "editor")
        try:
            with session_scope(engine) as session:
                edition = actions.editable(session, day, settings.list_address, version)
                notice = do(session, edition, user) or "Saved."
            if rebuild:
                from briefing.compose.stage import run_compose

                run_compose(engine, taxonomy, day, settings.list_address)
        except BriefingError as e:
            return _back(day, problem=str(e))
        return _back(day, notice=notice)

    @app.post("/editions/{day}/entries/{entry_id}/move")
    def move(
        request: Request,
        day: date,
        entry_id: int,
        *,
        csrf: Token = "",
        version: Version,
        direction: Annotated[int, Form()],
    ) -> Response:
        step = -1 if direction < 0 else 1
        return change(
            request, day, csrf, version, lambda s, e, u: actions.move(s, e, u, entry_id, step)
        )

    @app.post("/editions/{day}/sections/{section}/order")
    def reorder(
        request: Request,
        day: date,
        section: str,
        *,
        csrf: Token = "",
        version: Version,
        order: Annotated[str, Form()],
    ) -> Response:
        ids = [int(part) for part in order.split(",") if part.strip().isdigit()]
        return change(
            request, day, csrf, version, lambda s, e, u: actions.reorder(s, e, u, section, ids)
        )

    @app.post("/editions/{day}/entries/{entry_id}/section")
    def to_section(
        request: Request,
        day: date,
        entry_id: int,
        *,
        csrf: Token = "",
        version: Version,
        section: Annotated[str, Form()],
    ) -> Response:
        return change(
            request,
            day,
            csrf,
            version,
            lambda s, e, u: actions.move_to_section(s, e, u, entry_id, section, sections),
        )

    @app.post("/editions/{day}/entries/{entry_id}/remove")
    def remove(
        request: Request,
        day: date,
        entry_id: int,
        *,
        csrf: Token = "",
        version: Version,
        reason: Annotated[str, Form()],
    ) -> Response:
        return change(
            request, day, csrf, version, lambda s, e, u: actions.remove(s, e, u, entry_id, reason)
        )

    @app.post("/editions/{day}/entries/{entry_id}/restore")
    def restore(
        request: Request,
        day: date,
        entry_id: int,
        *,
        csrf: Token = "",
        version: Version,
    ) -> Response:
        return change(
            request, day, csrf, version, lambda s, e, u: actions.restore(s, e, u, entry_id)
        )

    @app.post("/editions/{day}/entries/{entry_id}/edit")
    def edit(
        request: Request,
        day: date,
        entry_id: int,
        *,
        csrf: Token = "",
        version: Version,
        title: Annotated[str, Form()] = "",
        summary: Annotated[str, Form()] = "",
    ) -> Response:
        return change(
            request,
            day,
            csrf,
            version,
            lambda s, e, u: actions.edit(s, e, u, entry_id, title, summary),
        )

    @app.post("/editions/{day}/entries/{entry_id}/lead")
    def lead(
        request: Request,
        day: date,
        entry_id: int,
        *,
        csrf: Token = "",
        version: Version,
        item_id: Annotated[int, Form()],
    ) -> Response:
        return change(
            request,
            day,
            csrf,
            version,
            lambda s, e, u: actions.choose_lead(s, e, u, entry_id, item_id),
        )

    @app.post("/editions/{day}/intro")
    def intro(
        request: Request,
        day: date,
        *,
        csrf: Token = "",
        version: Version,
        text: Annotated[str, Form()] = "",
    ) -> Response:
        return change(request, day, csrf, version, lambda s, e, u: actions.set_intro(s, e, u, text))

    @app.post("/editions/{day}/approve")
    def approve(
        request: Request,
        day: date,
        *,
        csrf: Token = "",
        version: Version,
        when: Annotated[str, Form()],
    ) -> Response:
        def do(session: Session, edition: Edition, user: Account) -> str:
            now_wanted = when == "now"
            actions.approve(session, edition, user, datetime.now(UTC), now_wanted)
            if now_wanted:
                return "Approved: it goes to the list within a minute."
            return f"Approved for {settings.send_at:%H:%M}."

        return change(request, day, csrf, version, do, rebuild=False)

    @app.post("/editions/{day}/unapprove")
    def unapprove(
        request: Request, day: date, *, csrf: Token = "", version: Annotated[int, Form()]
    ) -> Response:
        return change(
            request, day, csrf, version, lambda s, e, u: actions.unapprove(s, e, u), rebuild=False
        )

    @app.post("/editions/{day}/add")
    def add_by_url(
        request: Request,
        day: date,
        *,
        csrf: Token = "",
        url: Annotated[str, Form()],
        section: Annotated[str, Form()] = "",
    ) -> Response:
        """A story the feeds missed, by its address: fetched through the SSRF guard."""
        check_csrf(request, csrf)
        user = require(engine, request, "editor")
        try:
            added = add_story_by_url(
                AddStoryParts.from_context(ctx), day, url.strip()[:2000], user.id, section or None
            )
            from briefing.compose.stage import run_compose

            run_compose(engine, taxonomy, day, settings.list_address)
        except BriefingError as e:
            return _back(day, problem=str(e))
        where = section_titles.get(added.section, added.section)
        return _back(day, notice=f'Added "{added.title}" ({added.outlet}) to {where}.')

    @app.post("/editions/{day}/test")
    def test_send(request: Request, day: date, *, csrf: Token = "") -> Response:
        check_csrf(request, csrf)
        user = require(engine, request, "editor")
        with session_scope(engine, write=False) as session:
            from briefing.db.models import User

            address = (session.get(User, user.id) or User(email="")).email
        if not address:
            return _back(day, problem="Your account has no email address: ask an admin to add one.")
        try:
            send_test(ctx, day, address)
        except BriefingError as e:
            return _back(day, problem=str(e))
        with session_scope(engine) as session:
            audit(session, user.id, "test_send", f"{day} to {address}")
        return _back(day, notice=f"A test copy went to {address}.")

    @app.post("/editions/{day}/rebuild")
    def rebuild(request: Request, day: date, *, csrf: Token = "") -> Response:
        check_csrf(request, csrf)
        user = require(engine, request, "editor")
        try:
            rank, _draft, _email = compose(ctx, day)
        except BriefingError as e:
            return _back(day, problem=str(e))
        with session_scope(engine) as session:
            audit(session, user.id, "rebuild", str(day))
        return _back(day, notice=f"Rebuilt: {rank.entries} stories; your changes were kept.")

    @app.get("/editions/{day}/entries/{entry_id}/why", response_class=HTMLResponse)
    def why(request: Request, day: date, entry_id: int) -> Response:
        """The words that pushed the story's relevance and topics up or down."""
        require(engine, request, "viewer")
        panel = curation_view(engine, day, settings.list_address)
        entry = next((e for e in panel.entries if e.id == entry_id), None)
        if entry is None:
            raise HTTPException(404, "No such story in this edition.")
        with session_scope(engine, write=False) as session:
            from briefing.db.models import Item

            item = session.get(Item, entry.item_id)
            text = ItemText(item.title, item.summary, item.full_text or "") if item else None
        explain = getattr(ctx.classifier, "explain", None)
        explanation = explain(text) if explain and text else None
        return page(request, "why.html", entry=entry, explanation=explanation)

    @app.get("/feeds", response_class=HTMLResponse)
    def feeds_page(request: Request) -> Response:
        require(engine, request, "viewer")
        views = feed_health(engine, datetime.now(UTC), ctx.feed_policy)
        return page(request, "feeds.html", feeds=views)

    @app.get("/outlets", response_class=HTMLResponse)
    def outlets_page(request: Request, notice: str = "", problem: str = "") -> Response:
        user = require(engine, request, "viewer")
        return page(
            request,
            "outlets.html",
            unknown=unknown_publishers(engine, datetime.now(UTC)),
            outlets=outlets(engine),
            segments=taxonomy.segments,
            can_assign=user.can("editor"),
            can_admin=user.can("admin"),
            notice=notice[:300],
            problem=problem[:300],
        )

    def settle(
        request: Request, csrf: str, role: str, back: str, do: Callable[[Session, Account], str]
    ) -> Response:
        """One change outside an edition (outlets, feeds, accounts), back to its page."""
        check_csrf(request, csrf)
        user = require(engine, request, role)
        try:
            with session_scope(engine) as session:
                notice = do(session, user)
        except BriefingError as e:
            return RedirectResponse(f"{back}?{urlencode({'problem': str(e)})}", status_code=303)
        rendered.clear()  # an outlet's segment shows in every story's balance
        return RedirectResponse(f"{back}?{urlencode({'notice': notice})}", status_code=303)

    @app.post("/outlets/assign")
    def assign(
        request: Request,
        *,
        csrf: Token = "",
        domain: Annotated[str, Form()],
        segment: Annotated[str, Form()],
    ) -> Response:
        def do(session: Session, user: Account) -> str:
            outlet = outlet_actions.assign_segment(session, user, taxonomy, domain, segment)
            return f"{outlet.name} now counts as {SEGMENT_LABELS.get(segment, segment)}."

        return settle(request, csrf, "editor", "/outlets", do)

    @app.post("/outlets/{slug}")
    def edit_outlet(
        request: Request,
        slug: str,
        *,
        csrf: Token = "",
        segment: Annotated[str, Form()],
        paywalled: Annotated[bool, Form()] = False,
    ) -> Response:
        def do(session: Session, user: Account) -> str:
            outlet_actions.edit_outlet(session, user, taxonomy, slug, segment, paywalled)
            return "Outlet saved."

        return settle(request, csrf, "admin", "/outlets", do)

    @app.post("/feeds/{feed_id}/active")
    def feed_active(
        request: Request, feed_id: int, *, csrf: Token = "", active: Annotated[bool, Form()] = False
    ) -> Response:
        def do(session: Session, user: Account) -> str:
            outlet_actions.set_feed_active(session, user, feed_id, active)
            return "Feed switched on." if active else "Feed switched off."

        return settle(request, csrf, "admin", "/outlets", do)

    @app.get("/users", response_class=HTMLResponse)
    def users_page(request: Request, notice: str = "", problem: str = "") -> Response:
        require(engine, request, "admin")
        with session_scope(engine, write=False) as session:
            accounts = list_users(session)
        return page(
            request, "users.html", accounts=accounts, notice=notice[:300], problem=problem[:300]
        )

    @app.post("/users")
    def users_add(
        request: Request,
        *,
        csrf: Token = "",
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        role: Annotated[str, Form()],
        email: Annotated[str, Form()] = "",
    ) -> Response:
        def do(session: Session, admin: Account) -> str:
            added = add_user(session, username.strip(), password, role, email.strip())
            audit(session, admin.id, "user_add", added.username, {"role": role})
            return f"Added {added.username} ({added.role})."

        return settle(request, csrf, "admin", "/users", do)

    @app.post("/users/{username}")
    def users_edit(
        request: Request,
        username: str,
        *,
        csrf: Token = "",
        role: Annotated[str, Form()],
        disabled: Annotated[bool, Form()] = False,
    ) -> Response:
        def do(session: Session, admin: Account) -> str:
            if username == admin.username and (disabled or role != "admin"):
                raise UsageError("you cannot disable or demote yourself; ask another admin")
            set_role(session, username, role)
            set_disabled(session, username, disabled)
            audit(session, admin.id, "user_edit", username, {"role": role, "disabled": disabled})
            return f"{username} saved."

        return settle(request, csrf, "admin", "/users", do)

    @app.get("/healthz")
    def healthz() -> Response:
        """For a monitor: the database, the scheduler's lease and how fresh the feeds are."""
        now = datetime.now(UTC)
        try:
            latest = latest_edition_date(engine, settings.list_address)
            fetched = last_successful_fetch(engine)
            holder = lease.current(engine, "scheduler")
        except DatabaseError as e:
            return JSONResponse({"ok": False, "database": str(e)}, status_code=503)
        scheduler: dict[str, object] = {"running": bool(holder and holder.expires_at > now)}
        if holder:
            scheduler["holder"] = holder.holder
            scheduler["lease_expires_at"] = holder.expires_at.isoformat()
        return JSONResponse(
            {
                "ok": True,
                "database": "ok",
                "scheduler": scheduler,
                "last_fetch_age_seconds": fetched and round((now - fetched).total_seconds()),
                "latest_edition": latest and latest.isoformat(),
            }
        )

    app.state.term_counter = add_archive(
        app, ArchiveParts(engine, settings.tz, taxonomy, ctx.clock, page)
    )
    for route in app.routes:  # the schema documents the JSON API, not the pages and forms
        if isinstance(route, APIRoute) and not route.path.startswith("/api/"):
            route.include_in_schema = False
    return app


def _local(target: str) -> str:
    """Only a path on this site: never an open redirect to another one."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _back(day: date, *, notice: str = "", problem: str = "") -> Response:
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in (("notice", notice), ("problem", problem)) if v})
    return RedirectResponse(f"/editions/{day.isoformat()}?{query}#workspace", status_code=303)
