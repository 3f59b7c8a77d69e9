"""Adding a story the feeds missed, by its address, to a day's edition (I/O).

The page comes through the SSRF guard (briefing/ingest/guard.py), its text from trafilatura
in a worker process (never in the web server's threads: trafilatura is not thread-safe), its
headline and description from the page's <head>. The item is found (by its canonical
address) or stored, labelled with the person's judgement that it is migration news, joined
to the story it belongs to, and placed at the end of its section as the editor's own entry.
The edition's email is not rendered again here: the caller does that after any change.
"""

from __future__ import annotations

import codecs
import html
import multiprocessing
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from inspect import signature
from typing import TYPE_CHECKING, Protocol, cast

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from briefing.classify.model import Classifier, ItemText, Prediction
from briefing.config.sources import Sources
from briefing.config.taxonomy import UNKNOWN_SEGMENT, Taxonomy
from briefing.db.engine import session_scope
from briefing.db.models import (
    CurationEvent,
    Edition,
    EditionEntry,
    EditionStatus,
    Item,
    ItemLabel,
    ItemTopic,
    Outlet,
    Story,
)
from briefing.db.users import audit
from briefing.errors import NotFoundError, UsageError
from briefing.ingest.extract import ExtractedArticle, extract_article
from briefing.ingest.guard import FetchedPage, GuardPolicy, check_url, fetch_public_page_sync
from briefing.ingest.normalize import canonical_url, content_hash, domain_of, url_hash
from briefing.rank.cluster import STORY_SPAN, ClusterItem, assign_stories
from briefing.rank.policy import RankPolicy
from briefing.rank.score import StoryItem, primary_topic, score_story
from briefing.rank.select import REGION_SECTIONS
from briefing.rank.stage import LEDE_CHARS, story_item

if TYPE_CHECKING:
    from briefing.pipeline import Context

OPEN_STATUSES = (EditionStatus.DRAFT, EditionStatus.APPROVED)  # not yet sending or sent
TOP_SECTION = "top-stories"
EXTRACT_TIMEOUT = 30.0  # seconds for trafilatura on one page, in its worker process
HEAD_BYTES = 65_536  # the page's <head> is read from this much of it at most
TITLE_CHARS = 500
SUMMARY_CHARS = 500


class AddStoryError(UsageError):
    default_message = "the story could not be added"


class EditionClosedError(AddStoryError):
    default_message = "the edition can no longer be changed"


class AlreadyInEditionError(AddStoryError):
    default_message = "that story is already in the edition"


class NoHeadlineError(AddStoryError):
    default_message = "no headline was found on that page"


Extract = Callable[[bytes, str], ExtractedArticle | None]


def extract_in_worker(body: bytes, url: str) -> ExtractedArticle | None:
    """extract_article in a fresh worker process, stopped after EXTRACT_TIMEOUT seconds;
    a page it cannot read, or that takes too long, gives None (no text), not an error."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # exiting terminates it
        try:
            return pool.apply_async(extract_article, (body, url)).get(EXTRACT_TIMEOUT)
        except multiprocessing.TimeoutError:
            return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AddStoryParts:
    """What adding a story needs; `from_context` takes it all from a pipeline Context."""

    engine: Engine
    classifier: Classifier
    sources: Sources
    taxonomy: Taxonomy
    guard: GuardPolicy = field(default_factory=GuardPolicy)
    policy: RankPolicy = field(default_factory=RankPolicy)
    list_address: str = ""
    extract: Extract = extract_in_worker
    clock: Callable[[], datetime] = _utcnow

    @classmethod
    def from_context(cls, ctx: Context) -> AddStoryParts:
        settings = ctx.settings
        return cls(
            engine=ctx.engine,
            classifier=ctx.classifier,
            sources=ctx.sources,
            taxonomy=ctx.taxonomy,
            guard=GuardPolicy(
                ctx.network.limits, settings.contact_email, settings.fetch_allow_private
            ),
            policy=settings.rank_policy,
            list_address=settings.list_address,
            clock=ctx.clock,
        )

    @property
    def topic_sections(self) -> tuple[str, ...]:
        return self.policy.sections(list(self.taxonomy.topics))

    @property
    def sections(self) -> tuple[str, ...]:
        """Every section slug, in the edition's order."""
        return (TOP_SECTION, *self.topic_sections, *REGION_SECTIONS)


@dataclass(frozen=True, slots=True)
class AddedStory:
    edition_id: int
    entry_id: int
    item_id: int
    story_id: int
    section: str
    position: int
    title: str
    url: str  # the article's address, after redirects
    outlet: str
    new_item: bool  # False: the article was already stored and is reused
    joined_story: bool  # False: it starts a story of its own
    restored: bool = False  # the story was in the edition, removed, and is back


@dataclass(frozen=True, slots=True)
class PageHead:
    """What a page's <head> says about it."""

    title: str | None = None
    description: str | None = None
    site_name: str | None = None
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Page:
    url: str
    head: PageHead
    article: ExtractedArticle | None


def add_story_by_url(
    parts: AddStoryParts,
    day: date,
    url: str,
    user_id: int | None,
    section: str | None = None,
) -> AddedStory:
    """Add the article at `url` to the `day` edition as the editor's own story, in `section`
    (by default its main topic, or Europe or International for news from there).

    Refused, with a message fit to show, when the edition is being sent or was sent, when the
    story is already in it, or when the address is not a public web page."""
    if section is not None and section not in parts.sections:
        raise UsageError(f"there is no section {section!r}")
    check_url(url)  # the address's form first, then the edition, before any network
    with session_scope(parts.engine, write=False) as session:
        _open_edition(session, day, parts.list_address)
        stored = _find_item(session, [url])
    page = None
    if stored is None:
        fetched = fetch_public_page_sync(url, parts.guard)
        page = _read_page(fetched, parts.extract)
    for attempt in (1, 2):
        try:
            with session_scope(parts.engine) as session:
                return _add(session, parts, day, url, page, user_id, section)
        except IntegrityError:  # the feeds stored the same article a moment ago
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _add(
    session: Session,
    parts: AddStoryParts,
    day: date,
    url: str,
    page: _Page | None,
    user_id: int | None,
    section: str | None,
) -> AddedStory:
    now = parts.clock()
    edition_id, window_end = _claim_edition(session, day, parts.list_address)
    item = _find_item(session, [url, page.url] if page else [url])
    new_item = item is None
    if item is None:
        assert page is not None  # a stored article is never fetched
        item = _new_item(session, parts.sources, page, now)
    elif page is not None and page.article is not None and not item.full_text:
        _add_text(item, page.article)

    _label(session, parts, item, section, now)
    joined = item.story_id is not None or _join_story(session, item)
    assert item.story_id is not None

    in_edition = list(
        session.scalars(
            select(EditionEntry)
            .where(
                EditionEntry.edition_id == edition_id,
                or_(EditionEntry.story_id == item.story_id, EditionEntry.item_id == item.id),
            )
            .order_by(EditionEntry.id)
        )
    )
    if any(not e.removed for e in in_edition):
        raise AlreadyInEditionError(f"that story is already in the {day:%a %d %b} edition")
    existing = in_edition[0] if in_edition else None  # removed earlier: it comes back

    members = _story_members(session, item)
    topic = primary_topic(members, parts.topic_sections)
    lead = next(m for m in members if m.item_id == item.id)
    slug = section or _default_section(lead, topic)
    score = score_story(members, window_end, topic, parts.policy)
    position = _make_room(session, edition_id, slug, parts.sections, existing)

    entry = existing or EditionEntry(edition_id=edition_id)
    entry.item_id, entry.story_id = item.id, item.story_id
    entry.section, entry.editor_section, entry.position = slug, slug, position
    entry.score, entry.score_parts = round(sum(score.values()), 3), score
    entry.added_by_editor, entry.removed, entry.removed_reason = True, False, None
    session.add(entry)
    session.add(
        CurationEvent(
            edition_id=edition_id,
            item_id=item.id,
            user_id=user_id,
            action="add",
            detail={"section": slug, "url": url},
            created_at=now,
        )
    )
    audit(
        session,
        user_id,
        "add_story",
        url,  # cut to the column's width there; the whole address is in the detail
        {
            "edition": day.isoformat(),
            "url": url,
            "item_id": item.id,
            "story_id": item.story_id,
            "section": slug,
            "new_item": new_item,
        },
        now,
    )
    session.flush()
    return AddedStory(
        edition_id=edition_id,
        entry_id=entry.id,
        item_id=item.id,
        story_id=item.story_id,
        section=slug,
        position=position,
        title=item.title,
        url=item.url,
        outlet=lead.outlet,
        new_item=new_item,
        joined_story=joined,
        restored=existing is not None,
    )


# --- the edition ---------------------------------------------------------------------


def _open_edition(session: Session, day: date, list_address: str) -> tuple[int, int, datetime]:
    """The edition's id, version and cut-off, if stories may still be added to it."""
    row = session.execute(
        select(Edition.id, Edition.status, Edition.version, Edition.window_end).where(
            Edition.edition_date == day, Edition.list_address == list_address
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError("edition", day.isoformat())
    edition_id, status, version, window_end = row
    if status not in OPEN_STATUSES:
        raise EditionClosedError(
            f"the {day:%a %d %b} edition is {status}: stories can no longer be added"
        )
    return edition_id, version, window_end


def _claim_edition(session: Session, day: date, list_address: str) -> tuple[int, datetime]:
    """Check the edition is open and move its version on, in this transaction: a send that
    claims it at the same moment (compare-and-set on the version) and this change cannot
    both succeed, and an editor's page still showing the old version sees the change."""
    edition_id, version, window_end = _open_edition(session, day, list_address)
    bumped = session.execute(
        update(Edition)
        .where(
            Edition.id == edition_id,
            Edition.version == version,
            Edition.status.in_(OPEN_STATUSES),
        )
        .values(version=Edition.version + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount != 1:  # type: ignore[attr-defined]
        raise EditionClosedError(f"the {day:%a %d %b} edition changed meanwhile: try again")
    return edition_id, window_end


def _make_room(
    session: Session,
    edition_id: int,
    section: str,
    sections: Sequence[str],
    moving: EditionEntry | None,
) -> int:
    """The position just after the last entry of `section` (or of the sections before it,
    when it has none yet); the entries after it move down one."""
    order = {slug: n for n, slug in enumerate(sections)}
    rank = order[section]
    rows = session.execute(
        select(EditionEntry.id, EditionEntry.section, EditionEntry.position).where(
            EditionEntry.edition_id == edition_id
        )
    ).all()
    before = [
        position
        for entry_id, slug, position in rows
        if order.get(slug, len(order)) <= rank and (moving is None or entry_id != moving.id)
    ]
    position = max(before) + 1 if before else 0
    session.execute(
        update(EditionEntry)
        .where(EditionEntry.edition_id == edition_id, EditionEntry.position >= position)
        .values(position=EditionEntry.position + 1)
        .execution_options(synchronize_session=False)
    )
    return position


def _default_section(lead: StoryItem, topic: str | None) -> str:
    if lead.region in REGION_SECTIONS:
        return str(lead.region)
    return topic or TOP_SECTION


# --- the item --------------------------------------------------------------------------


def _find_item(session: Session, urls: Sequence[str]) -> Item | None:
    keys = list(dict.fromkeys(url_hash(u) for u in urls))
    return session.scalar(
        select(Item)
        .where(Item.url_hash.in_(keys))
        .options(selectinload(Item.outlet), selectinload(Item.label))
        .order_by(Item.id)
        .limit(1)
    )


def _new_item(session: Session, sources: Sources, page: _Page, now: datetime) -> Item:
    article, head = page.article, page.head
    title = _one_line((article.title if article else None) or head.title or "", TITLE_CHARS)
    if not title:
        raise NoHeadlineError(f"no headline was found on {page.url}")
    summary = _one_line(head.description or (article.text if article else ""), SUMMARY_CHARS)
    # The page's published_time meta tag has the hour; trafilatura's date only the day.
    published = head.published_at or (article.published_at if article else None)
    source = sources.outlet_for_url(page.url)
    outlet = session.scalar(select(Outlet).where(Outlet.slug == source.slug)) if source else None
    item = Item(
        outlet=outlet,
        publisher_domain=domain_of(page.url)[:255],
        publisher_name=((source.name if source else None) or head.site_name or "")[:200],
        url=page.url,
        canonical_url=canonical_url(page.url),
        url_hash=url_hash(page.url),
        title=title,
        summary=summary,
        published_at=min(published, now) if published else now,
        published_estimated=published is None,
        fetched_at=now,
        content_hash=content_hash(title, summary),
        extract_status="ok" if article else "empty",
    )
    if article is not None:
        _add_text(item, article)
    session.add(item)
    session.flush()
    return item


def _add_text(item: Item, article: ExtractedArticle) -> None:
    item.full_text = article.text
    item.extract_status = "ok"
    item.author = item.author or (article.author[:500] if article.author else None)
    item.language = item.language or (article.language[:8] if article.language else None)
    item.image_url = item.image_url or article.image


def _label(
    session: Session, parts: AddStoryParts, item: Item, section: str | None, now: datetime
) -> None:
    """The classifier's topics and region for an item a person judged relevant; a section
    the editor chose is their label too (as in the training feedback)."""
    prediction = _predict_relevant(
        parts.classifier, ItemText(item.title, item.summary, item.full_text or "")
    )
    topics = list(prediction.topics)
    region = prediction.region or "uk"
    if section in REGION_SECTIONS:
        region = str(section)
    elif section and section != TOP_SECTION:
        topics = [(section, 1.0), *(t for t in topics if t[0] != section)][:3]
    sources_outlet = parts.sources.outlet_for_url(item.url)
    segment = (item.outlet.segment if item.outlet else None) or (
        sources_outlet.segment if sources_outlet else None
    )
    label = item.label or ItemLabel(item_id=item.id)
    label.model_version = parts.classifier.version
    label.relevant, label.relevance = True, prediction.relevance
    label.region, label.segment = region, segment or UNKNOWN_SEGMENT
    label.labelled_at = now
    if item.label is not None:
        label.topics = []
        session.flush()  # the old topics go before their successors are inserted
    label.topics = [ItemTopic(topic=slug, score=score) for slug, score in topics]
    item.label = label
    session.flush()


class _JudgedRelevant(Protocol):
    def predict(
        self, items: Sequence[ItemText], *, assume_relevant: bool = ...
    ) -> list[Prediction]: ...


def _predict_relevant(classifier: Classifier, text: ItemText) -> Prediction:
    """Topics and region as for migration news, whatever the relevance model thinks: the
    trained model skips its relevance gate when asked; for a classifier that cannot be
    asked (the keyword baseline), the person's judgement overrides its verdict."""
    if "assume_relevant" in signature(classifier.predict).parameters:
        (prediction,) = cast(_JudgedRelevant, classifier).predict([text], assume_relevant=True)
    else:
        (prediction,) = classifier.predict([text])
    return prediction


# --- the story -------------------------------------------------------------------------


def _join_story(session: Session, item: Item) -> bool:
    """Put the item in the story of the same event among recent stories, as the rank stage
    would, or in a new story; True when it joined one."""
    nearby = session.scalars(
        select(Item)
        .join(ItemLabel)
        .where(
            ItemLabel.relevant,
            Item.story_id.is_not(None),
            Item.id != item.id,
            Item.published_at >= item.published_at - STORY_SPAN,
            Item.published_at <= item.published_at + STORY_SPAN,
        )
    )
    assignment = assign_stories([_cluster_item(i) for i in [*nearby, item]])
    key = assignment[item.id]
    if isinstance(key, int):
        item.story_id = key
        return True
    story = Story(first_published_at=item.published_at)
    session.add(story)
    session.flush()
    item.story_id = story.id
    session.flush()
    return False


def _cluster_item(item: Item) -> ClusterItem:
    body = f"{item.summary} {(item.full_text or '')[:LEDE_CHARS]}"
    return ClusterItem(item.id, item.title, body, item.published_at, item.story_id)


def _story_members(session: Session, item: Item) -> list[StoryItem]:
    rows = session.scalars(
        select(Item)
        .join(ItemLabel)
        .where(Item.story_id == item.story_id, ItemLabel.relevant)
        .options(selectinload(Item.label).selectinload(ItemLabel.topics), selectinload(Item.outlet))
        .order_by(Item.published_at, Item.id)
    )
    members = [story_item(member) for member in rows]
    return members


# --- the page --------------------------------------------------------------------------


def _read_page(page: FetchedPage, extract: Extract) -> _Page:
    return _Page(page.url, read_head(page.body, page.content_type), extract(page.body, page.url))


_HEAD_END = re.compile(rb"</head\s*>|<body[\s>]", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]{1,40})", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?([\w.:-]{1,40})", re.I)
_TITLE = re.compile(r"<title\b[^>]{0,200}>", re.IGNORECASE)
_META = re.compile(r"<meta\b([^>]{0,1000})>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([\w:.-]{1,64})\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_SPACE = re.compile(r"\s+")
_TITLE_KEYS = ("og:title", "twitter:title")
_DESCRIPTION_KEYS = ("og:description", "description", "twitter:description")
_PUBLISHED_KEYS = ("article:published_time", "og:published_time", "date", "dc.date")


def read_head(body: bytes, content_type: str = "") -> PageHead:
    """Headline, description, site name and date from a page's <head> (pure). Simple
    patterns with bounded repeats over at most HEAD_BYTES: linear in the input, where
    html.parser takes tens of seconds on some hostile 64 KB inputs."""
    raw = body[:HEAD_BYTES]
    end = _HEAD_END.search(raw)
    raw = raw[: end.start()] if end else raw
    text = raw.decode(_charset(raw, content_type), errors="replace")
    meta: dict[str, str] = {}
    for match in _META.finditer(text):
        attributes = {
            name.lower(): html.unescape(a or b or c)
            for name, a, b, c in _ATTRIBUTE.findall(match[1])
        }
        key = (attributes.get("property") or attributes.get("name") or "").lower()
        if key and "content" in attributes:
            meta.setdefault(key, attributes["content"])
    title = None
    if opening := _TITLE.search(text):
        closing = text.lower().find("</title", opening.end())
        if closing != -1:
            title = html.unescape(text[opening.end() : closing])
    return PageHead(
        title=_first(meta, _TITLE_KEYS) or _one_line(title or "", TITLE_CHARS) or None,
        description=_first(meta, _DESCRIPTION_KEYS),
        site_name=_first(meta, ("og:site_name", "application-name")),
        published_at=_parse_date(_first(meta, _PUBLISHED_KEYS)),
    )


def _charset(raw: bytes, content_type: str) -> str:
    found = _CHARSET.search(content_type)
    name = found[1] if found else None
    if name is None and (declared := _META_CHARSET.search(raw)):
        name = declared[1].decode("ascii", "replace")
    try:
        return codecs.lookup(name or "utf-8").name
    except LookupError:
        return "utf-8"


def _first(meta: dict[str, str], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = _one_line(meta.get(key, ""), SUMMARY_CHARS)
        if value:
            return value
    return None


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _one_line(text: str, limit: int) -> str:
    """Plain text on one line, cut at a word before `limit` characters. Markup-like text in
    a headline stays as written: it is text, and the templates escape it."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"
