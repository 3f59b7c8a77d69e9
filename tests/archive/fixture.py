"""A small generated archive and its ground truth, for brute-force checks of the archive.

Items are written through the ORM, so SQLite's FTS triggers and PostgreSQL's generated
column index them exactly as ingest would. The words come from a vocabulary in which no two
words share a stem, so "contains the word" in Python is what both search engines find.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete

from briefing.archive import rollup
from briefing.db.engine import session_scope
from briefing.db.models import (
    Edition,
    EditionEntry,
    EditionStatus,
    Feed,
    FetchLog,
    Item,
    ItemLabel,
    ItemTopic,
    Outlet,
    Story,
    TrackedTerm,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 2, 1)  # 79 days, across the clocks going forward on 29 March
DAYS = 79
KEEP_DAYS = 30
TOPICS = ("channel-crossings", "asylum-system", "detention", "destitution")
OUTLETS = (  # slug, name, segment, feeds
    ("bbc-news", "BBC News", "mixed-middle", 2),
    ("daily-mail", "Daily Mail", "right-leaning", 1),
    ("the-guardian", "The Guardian", "progressive", 2),
    ("kent-online", "Kent Online", "local-regional", 1),
)
REGIONS = ("uk", "europe", "international")
WORDS = [
    "calais",
    "dinghy",
    "manston",
    "rwanda",
    "barge",
    "tribunal",
    "hotel",
    "council",
    "winter",
    "charity",
    "ministers",
    "parliament",
    "coastguard",
    "kitchen",
    "volunteers",
    "harbour",
    "lorry",
    "airport",
    "bishop",
    "orchard",
    "museum",
    "festival",
]
SPIKE_TOPIC, SPIKE_DAY = "detention", date(2026, 3, 20)
PHRASES = {
    "illegal migrants": ("loaded", ["illegal migrant", "illegal migrants"]),
    "refugees": ("neutral", ["refugee", "refugees"]),
}
FAILING = {  # (outlet slug, day): the outlet's feeds all fail that day
    ("daily-mail", date(2026, 3, 3)),
    ("kent-online", date(2026, 3, 10)),
}


def phrase_pattern(phrases: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    """The brute-force reference for the language tracker: any phrase as whole words, any
    case, any spaces or hyphens between its words."""
    alternatives = [r"[\s\-]+".join(re.escape(word) for word in p.split()) for p in phrases]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Truth:
    id: int
    day: date  # London
    published_at: datetime
    outlet: str
    segment: str
    region: str | None
    relevant: bool
    topics: tuple[str, ...]
    words: frozenset[str]
    text: str
    sent: bool


def build(engine: Engine, seed: int = 8) -> list[Truth]:
    """Write the archive (items, labels, stories, two sent editions and a draft, fetch logs,
    tracked terms) and fill the roll-ups; return what every item is, for brute force."""
    rng = random.Random(seed)
    truths: list[Truth] = []
    with session_scope(engine) as session:
        session.execute(delete(TrackedTerm))  # the migration's defaults; the tests set their own
        for label, (kind, phrases) in PHRASES.items():
            session.add(TrackedTerm(label=label, kind=kind, phrases=phrases, counted_at=NOW))
        outlets = []
        for slug, name, segment, feeds in OUTLETS:
            outlet = Outlet(slug=slug, name=name, segment=segment, domains=[])
            outlet.feeds = [
                Feed(url=f"https://{slug}.example/{n}.xml", name=f"{name} {n}")
                for n in range(feeds)
            ]
            outlets.append(outlet)
        session.add_all(outlets)
        session.flush()
        stories: list[Story] = []
        pending: list[tuple[Item, dict[str, object]]] = []
        for n in range(DAYS):
            day = FIRST_DAY + timedelta(days=n)
            volume = rng.randint(4, 9) + (12 if day == SPIKE_DAY else 0)
            for k in range(volume):
                published = datetime(
                    day.year,
                    day.month,
                    day.day,
                    rng.randint(0, 23),
                    rng.randint(0, 59),
                    tzinfo=LONDON,
                ).astimezone(UTC)
                aggregated = rng.random() < 0.08
                outlet = None if aggregated else rng.choice(outlets)
                relevant = rng.random() < 0.75
                topics: tuple[str, ...] = ()
                if relevant:
                    topics = tuple(rng.sample(TOPICS, rng.choice((1, 1, 2))))
                    if day == SPIKE_DAY and k < 12:
                        topics = (SPIKE_TOPIC,)
                words = rng.sample(WORDS, 4)
                extra = []
                if rng.random() < 0.2:
                    extra.append(rng.choice(["Illegal migrants", "illegal-migrant", "refugees"]))
                title = f"{words[0].title()} {words[1]} story {n}-{k}"
                summary = f"The {words[2]} report. " + " ".join(extra)
                full_text = f"Full report on the {words[3]}." if rng.random() < 0.7 else None
                story = None
                if relevant and stories and rng.random() < 0.3:
                    story = stories[-1]
                elif relevant:
                    story = Story(first_published_at=published)
                    stories.append(story)
                    session.add(story)
                    session.flush()
                item = Item(
                    outlet_id=outlet.id if outlet else None,
                    publisher_name="" if outlet else "Some Paper",
                    url=f"https://news.example/{n}/{k}",
                    canonical_url=f"https://news.example/{n}/{k}",
                    url_hash=f"{n:04d}{k:04d}".ljust(64, "0"),
                    title=title,
                    summary=summary,
                    full_text=full_text,
                    published_at=published,
                    content_hash="x",
                    story_id=story.id if story else None,
                )
                segment = outlet.segment if outlet and outlet.segment else "unknown"
                region = rng.choice(REGIONS) if relevant else None
                item.label = ItemLabel(
                    model_version="test",
                    relevant=relevant,
                    relevance=0.9 if relevant else 0.1,
                    region=region,
                    segment=segment,
                    topics=[ItemTopic(topic=t, score=0.9 - 0.1 * i) for i, t in enumerate(topics)],
                )
                session.add(item)
                session.flush()
                text = f"{title} {summary} {full_text or ''}"
                pending.append(
                    (
                        item,
                        dict(
                            day=day,
                            published_at=published,
                            outlet=outlet.slug if outlet else "",
                            segment=segment,
                            region=region,
                            relevant=relevant,
                            topics=topics,
                            words=frozenset(w.lower() for w in text.replace(".", " ").split()),
                            text=text,
                        ),
                    )
                )
        # Two sent editions and a draft: an item made the briefing if its story did.
        relevant_items = [item for item, facts in pending if facts["relevant"]]
        sent_items = rng.sample(relevant_items, 20)
        for d, status, chosen in (
            (date(2026, 3, 2), EditionStatus.SENT, sent_items[:10]),
            (date(2026, 3, 9), EditionStatus.SENT, sent_items[10:]),
            (date(2026, 3, 16), EditionStatus.DRAFT, rng.sample(relevant_items, 10)),
        ):
            edition = Edition(
                edition_date=d,
                status=status,
                window_start=NOW,
                window_end=NOW,
                entries=[
                    EditionEntry(
                        item_id=i.id,
                        story_id=i.story_id,
                        section="top-stories",
                        position=p,
                        removed=(p == 0),
                    )
                    for p, i in enumerate(chosen)
                ],
            )
            session.add(edition)
        sent_stories = {i.story_id for i in sent_items[1:10] + sent_items[11:]}
        sent_ids = {i.id for i in sent_items[1:10] + sent_items[11:]}
        for item, facts in pending:
            sent = item.id in sent_ids or (
                item.story_id is not None and item.story_id in sent_stories
            )
            truths.append(Truth(id=item.id, sent=bool(sent and facts["relevant"]), **facts))  # type: ignore[arg-type]
        # Fetch logs: every feed twice a day; the failing outlets' feeds fail all day.
        for outlet in outlets:
            for feed in outlet.feeds:
                for n in range(DAYS):
                    day = FIRST_DAY + timedelta(days=n)
                    failing = (outlet.slug, day) in FAILING
                    for hour in (7, 19):
                        session.add(
                            FetchLog(
                                feed_id=feed.id,
                                started_at=datetime(
                                    day.year, day.month, day.day, hour, tzinfo=LONDON
                                ).astimezone(UTC),
                                duration_ms=100,
                                status="error" if failing else "ok",
                            )
                        )
    rollup.rebuild(engine, LONDON, KEEP_DAYS, NOW)
    return truths
