"""The web app: for now a read-only preview of each edition, exactly as it will be sent."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from briefing.archive.queries import (
    EditionView,
    edition_view,
    last_successful_fetch,
    latest_edition_date,
)
from briefing.compose.context import FLAG_TEXTS, SEGMENT_LABELS, date_label
from briefing.compose.render import SIZE_BUDGET, balance_text
from briefing.config.settings import Settings
from briefing.config.taxonomy import default_taxonomy
from briefing.db import lease
from briefing.db.engine import DatabaseError, make_engine
from briefing.errors import NotFoundError
from briefing.resources import data_path

# The email is shown in a sandboxed frame: its CSS cannot leak into the page, no script runs.
EMAIL_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.database_url)
    taxonomy = default_taxonomy()
    templates = Jinja2Templates(directory=data_path("templates/web"))
    templates.env.filters["date_label"] = date_label
    templates.env.globals["segment_labels"] = SEGMENT_LABELS
    templates.env.globals["size_budget"] = SIZE_BUDGET
    templates.env.globals["flag_texts"] = FLAG_TEXTS
    templates.env.globals["balance_text"] = balance_text
    app = FastAPI(title="briefing", docs_url=None, redoc_url=None)

    def view_or_404(day: date) -> EditionView:
        try:
            return edition_view(engine, taxonomy, day, settings.list_address)
        except NotFoundError:
            raise HTTPException(404, f"There is no edition for {day}.") from None

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        day = latest_edition_date(engine, settings.list_address)
        if day is None:
            return templates.TemplateResponse(request, "empty.html", status_code=200)
        return RedirectResponse(f"/editions/{day.isoformat()}", status_code=303)

    @app.get("/editions/{day}", response_class=HTMLResponse)
    def edition_page(request: Request, day: date) -> Response:
        view = view_or_404(day)
        return templates.TemplateResponse(request, "edition.html", {"view": view})

    @app.get("/editions/{day}/email.html", response_class=HTMLResponse)
    def edition_email(day: date) -> Response:
        view = view_or_404(day)
        return HTMLResponse(view.html, headers={"Content-Security-Policy": EMAIL_CSP})

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

    return app
