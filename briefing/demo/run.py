"""The demo run (I/O): fresh database under var/demo, sample site, pipeline, outbox, preview."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from briefing.config.settings import Settings
from briefing.db.engine import session_scope
from briefing.db.migrate import upgrade
from briefing.db.users import add_user
from briefing.deliver.outbox import OutboxFiles
from briefing.demo.site import RouteToSite, SiteServer
from briefing.pipeline import Context, FetchSummary, compose, fetch, write_to_outbox

DEMO_DAY = date(2026, 3, 10)  # the sample feeds carry the news of Mon 9 and Tue 10 March 2026
DEMO_LIST = "migration-briefing-demo@example.org"
SOURCES = Path(__file__).resolve().parent / "sources.yaml"


@dataclass(frozen=True, slots=True)
class DemoResult:
    settings: Settings
    fetched: FetchSummary
    stories: int
    entries: int
    outbox: OutboxFiles
    html_bytes: int
    classifier: str


# The demo's own account on its own throwaway database (never a real one).
DEMO_USER, DEMO_PASSWORD = "demo", "demo-briefing-2026"


def demo_settings(settings: Settings) -> Settings:
    """The demo's own database and sources, so it never touches real data."""
    folder = settings.var_dir / "demo"
    return settings.model_copy(
        update={
            "database_url": f"sqlite:///{folder / 'briefing.db'}",
            "sources": SOURCES,
            "list_address": DEMO_LIST,
            "from_address": settings.from_address or "briefing-demo@example.org",
            "fetch_host_delay_seconds": 0.0,  # every host is the same loopback server
        }
    )


def run_demo(settings: Settings, say: Callable[[str], None]) -> DemoResult:
    settings = demo_settings(settings)
    database = settings.var_dir / "demo" / "briefing.db"
    for stale in database.parent.glob("briefing.db*"):  # a fresh start makes re-runs safe
        stale.unlink()
    upgrade(settings.database_url)
    with SiteServer() as site:
        ctx = Context(settings, transport=RouteToSite(site.url))
        try:
            say(f"Serving the sample feeds on {site.url} (nothing leaves this machine).")
            say(f"Labelling with the {ctx.classifier.description}.")
            fetched = fetch(ctx, everything=True)
            rank, _draft, email = compose(ctx, DEMO_DAY)
            outbox = write_to_outbox(ctx, DEMO_DAY, email)
            with session_scope(ctx.engine) as session:  # so the curation page can be tried
                add_user(session, DEMO_USER, DEMO_PASSWORD, "editor", "editor@example.org")
        finally:
            ctx.close()
    return DemoResult(
        settings,
        fetched,
        rank.stories,
        rank.entries,
        outbox,
        len(email.html.encode("utf-8")),
        ctx.classifier.description,
    )
