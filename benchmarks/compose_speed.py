"""Compose and render time for a 60-entry edition, and the HTML size for 20, 40 and 60 entries.

Method: a fresh SQLite database gets N stories, each reported by 1 to 5 outlets of
sources.yaml (the copies repeat the lead's headline and summary, as wire copy does, so the
grouping joins them). Headlines and summaries are the relevant items of the classifier's
training data, the realistic feed text this project has. `compose` then does what the
scheduler does at 06:30: group the window's items into stories, score and place them, render
the MJML and the plain text, and store the edition. Times are the median of 5 rebuilds of the
same edition (the first build, which also creates the stories, is reported apart);
scikit-learn is imported before any timing.

Run: .venv/bin/python benchmarks/compose_speed.py
"""

from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from briefing.classify.data import load_seed
from briefing.config.settings import load_settings
from briefing.config.taxonomy import default_taxonomy
from briefing.db.engine import session_scope
from briefing.db.migrate import upgrade
from briefing.db.models import Item, ItemLabel, ItemTopic, Outlet
from briefing.pipeline import Context, compose, sync

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 3, 10)
LIST = "briefing@example.org"


def fill(ctx: Context, stories: int) -> None:
    seed = [e for e in load_seed(ROOT / "classifiers" / "training", default_taxonomy())]
    relevant = [e for e in seed if e.relevant and e.summary][:stories]
    sync(ctx)
    with session_scope(ctx.engine) as session:
        outlets = [o for o in session.query(Outlet).all() if not o.is_aggregator]
        start = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
        for n, example in enumerate(relevant):
            for k in range(1 + n % 5):
                outlet = outlets[(n * 7 + k * 13) % len(outlets)]
                slug = "-".join(example.title.lower().split()[:8])
                url = f"https://www.{outlet.domains[0]}/news/2026/mar/09/{slug}-{n}-{k}"
                item = Item(
                    outlet=outlet,
                    publisher_domain=outlet.domains[0],
                    url=url,
                    canonical_url=url,
                    url_hash=hashlib.sha256(url.encode()).hexdigest(),
                    title=example.title,
                    summary=example.summary,
                    published_at=start + timedelta(minutes=10 * n + k),
                    content_hash="-",
                )
                item.label = ItemLabel(
                    model_version="benchmark",
                    relevant=True,
                    relevance=0.6 + (n % 40) / 100,
                    region=example.region,
                    segment=outlet.segment or "unknown",
                    topics=[ItemTopic(topic=t, score=0.9) for t in example.topics],
                )
                session.add(item)


def measure(stories: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/briefing.db"
        upgrade(url)
        ctx = Context(
            load_settings(
                {
                    "BRIEFING_DATABASE_URL": url,
                    "BRIEFING_LIST_ADDRESS": LIST,
                    "BRIEFING_SECTION_MAX": "60",
                }
            )
        )
        fill(ctx, stories)
        started = time.perf_counter()
        rank, draft, email = compose(ctx, DAY)
        first = time.perf_counter() - started
        rebuilds = []
        for _ in range(5):
            started = time.perf_counter()
            compose(ctx, DAY)
            rebuilds.append(time.perf_counter() - started)
        ctx.close()
    links = sum(1 + len(e.also) for e in draft.entries)
    print(
        f"{len(draft.entries):>2} entries ({rank.items} items, {links} links): "
        f"HTML {email.html_bytes / 1000:.1f} KB, text {len(email.text) / 1000:.1f} KB; "
        f"compose first {first * 1000:.0f} ms, rebuild median "
        f"{statistics.median(rebuilds) * 1000:.0f} ms"
    )


def main() -> None:
    # Imported first so that no figure includes scikit-learn's import (about 2 s here).
    import sklearn.feature_extraction.text  # noqa: F401

    for stories in (20, 40, 60):
        measure(stories)


if __name__ == "__main__":
    main()
