"""Adding a story by URL into a composed edition, from pages on a loopback server (with the
test-only setting fetch_allow_private), on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from briefing.classify.model import ItemText, Prediction
from briefing.config.settings import load_settings
from briefing.config.taxonomy import default_taxonomy
from briefing.curate.add import (
    AddStoryParts,
    AlreadyInEditionError,
    EditionClosedError,
    add_story_by_url,
    read_head,
)
from briefing.db.editions import find_edition
from briefing.db.engine import session_scope
from briefing.db.models import AuditEntry, CurationEvent, EditionStatus, Item
from briefing.db.users import add_user
from briefing.errors import NotFoundError, UsageError
from briefing.ingest.guard import AddressNotPublicError
from briefing.pipeline import Context, compose, sync
from tests.loopback import Loopback, Reply, loopback_server
from tests.rank.test_stage import HARMONDSWORTH, LIST, add_item, at

DAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 7, 15, tzinfo=UTC)
HTML = {"Content-Type": "text/html; charset=utf-8"}
NAPIER = (
    "Napier barracks to house asylum seekers again, Home Office confirms",
    "The former army site in Folkestone will reopen to asylum seekers next month.",
    [
        "The Home Office has confirmed that Napier barracks in Folkestone, Kent, will be used "
        "again to house people seeking asylum from next month, despite a court ruling that "
        "conditions there were unlawful.",
        "Charities working with refugees said the decision ignored the findings of inspectors, "
        "who reported overcrowding, fire risks and a Covid outbreak at the site in 2021.",
        "A Home Office spokesperson said the accommodation would meet all legal standards and "
        "that the asylum backlog made more capacity necessary.",
    ],
)


def article(
    title: str,
    description: str,
    paragraphs: Sequence[str],
    *,
    title_html: str | None = None,
    extra_body: str = "",
) -> bytes:
    head_title = title_html if title_html is not None else title
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{head_title}</title>"
        f'<meta property="og:title" content="{head_title}">'
        f'<meta name="description" content="{description}">'
        '<meta property="article:published_time" content="2026-03-10T06:50:00+00:00">'
        "</head><body><header><nav><a href='/'>Home</a></nav></header>"
        f"<main><article><h1>{head_title}</h1>{body}</article></main>{extra_body}"
        "<footer>Copyright 2026</footer></body></html>"
    ).encode()


@pytest.fixture
def ctx(database_url: str) -> Iterator[Context]:
    settings = load_settings(
        {
            "BRIEFING_DATABASE_URL": database_url,
            "BRIEFING_LIST_ADDRESS": LIST,
            "BRIEFING_FETCH_ALLOW_PRIVATE": "true",
        }
    )
    ctx = Context(settings, clock=lambda: NOW)
    sync(ctx)  # the outlets of sources.yaml, as in production
    add_item(ctx.engine, "BBC News", at(9, 20), *HARMONDSWORTH)
    add_item(
        ctx.engine,
        "The Guardian",
        at(9, 23),
        "Family reunion route reopens",
        "Refugees will need to show an income.",
        topic="safe-routes-resettlement",
    )
    compose(ctx, DAY)
    yield ctx
    ctx.close()


@pytest.fixture
def editor(ctx: Context) -> int:
    with session_scope(ctx.engine) as session:
        return add_user(session, "ed", "a long passphrase", "editor", "ed@example.org").id


@pytest.fixture
def site() -> Iterator[Loopback]:
    with loopback_server() as site:
        yield site


def parts(ctx: Context, **changes: object) -> AddStoryParts:
    return replace(AddStoryParts.from_context(ctx), **changes)  # type: ignore[arg-type]


def entries(ctx: Context) -> list[tuple[str, str, bool, int]]:
    """(section, title, added by the editor, item id) of each entry, in edition order."""
    with session_scope(ctx.engine, write=False) as session:
        edition = find_edition(session, DAY, LIST)
        return [
            (e.section, e.item.title, e.added_by_editor, e.item_id)
            for e in sorted(edition.entries, key=lambda e: e.position)
            if not e.removed
        ]


def test_a_page_is_added_to_the_edition(ctx: Context, editor: int, site: Loopback) -> None:
    url = site.add("/news/napier", Reply(200, article(NAPIER[0], NAPIER[1], NAPIER[2]), HTML))
    added = add_story_by_url(parts(ctx), DAY, url, editor)

    assert added.new_item and not added.joined_story and not added.restored
    assert added.title == NAPIER[0] and added.url == url
    with session_scope(ctx.engine, write=False) as session:
        item = session.get_one(Item, added.item_id)
        assert item.title == NAPIER[0] and item.summary == NAPIER[1]
        assert item.full_text is not None and "Napier barracks in Folkestone" in item.full_text
        assert item.publisher_domain == "127.0.0.1" and item.outlet_id is None
        assert item.published_at == datetime(2026, 3, 10, 6, 50, tzinfo=UTC)
        assert item.feed_id is None and item.story_id == added.story_id
        label = item.label
        assert label is not None and label.relevant and label.segment == "unknown"
        topics = [t.topic for t in label.topics]
        assert topics and set(topics) <= set(default_taxonomy().topics)
        assert label.region in default_taxonomy().regions
        # Its main topic's section, or its region's for news from abroad.
        abroad = label.region in ("europe", "international")
        assert added.section == (label.region if abroad else topics[0])

        edition = find_edition(session, DAY, LIST)
        (entry,) = [e for e in edition.entries if e.item_id == item.id]
        assert entry.added_by_editor and entry.editor_section == entry.section == added.section
        assert entry.story_id == added.story_id and entry.score > 0 and entry.score_parts
        assert edition.version > 1  # editors' pages showing the old version see the change

        event = session.scalars(select(CurationEvent)).one()
        assert (event.action, event.item_id, event.user_id) == ("add", item.id, editor)
        assert event.detail == {"section": added.section, "url": url}
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "add_story")).one()
        assert audit.user_id == editor and audit.target == url
        assert audit.detail["item_id"] == item.id

    # At the end of its section, and the sections still in the edition's order.
    placed = entries(ctx)
    mine = [n for n, e in enumerate(placed) if e[3] == added.item_id]
    in_section = [n for n, e in enumerate(placed) if e[0] == added.section]
    assert mine == [max(in_section)]
    order = parts(ctx).sections
    assert [order.index(e[0]) for e in placed] == sorted(order.index(e[0]) for e in placed)

    # A rebuild keeps the editor's story where they put it, and the email carries it.
    _rank, draft, email = compose(ctx, DAY)
    assert NAPIER[0] in email.text
    assert any(e.title == NAPIER[0] for s in draft.sections for e in s.entries)
    assert (added.section, NAPIER[0], True, added.item_id) in entries(ctx)


def test_the_outlet_comes_from_the_sources_by_domain(
    ctx: Context, editor: int, site: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    """www.bbc.co.uk is answered by a stand-in resolver with 127.0.0.1 (allowed by the
    test-only setting), so the page keeps its real host name and BBC News is found by it."""
    real = socket.getaddrinfo

    def resolve(host: str, port: int, *args: object, **kwargs: object) -> object:
        if host == "www.bbc.co.uk":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    site.add("/news/articles/c0napier?utm_source=twitter", Reply(200, article(*NAPIER), HTML))
    port = site.url.rsplit(":", 1)[1]
    url = f"http://www.bbc.co.uk:{port}/news/articles/c0napier?utm_source=twitter"
    added = add_story_by_url(parts(ctx), DAY, url, editor, section="detention")

    assert added.outlet == "BBC News" and added.section == "detention"
    assert added.url == url  # as fetched; its canonical form drops the tracking
    with session_scope(ctx.engine, write=False) as session:
        item = session.get_one(Item, added.item_id)
        assert item.outlet is not None and item.outlet.slug == "bbc-news"
        assert item.canonical_url == f"http://www.bbc.co.uk:{port}/news/articles/c0napier"
        assert item.label is not None and item.label.segment == "mixed-middle"
        assert item.label.topics[0].topic == "detention"  # the editor's section is a label
    assert site.requests[0][1]["Host"] == f"www.bbc.co.uk:{port}"
    placed = entries(ctx)
    assert placed[-1][0] != "detention" or placed[-1][3] == added.item_id
    assert [e for e in placed if e[0] == "detention"][-1][3] == added.item_id


def test_the_same_address_again_is_refused_without_a_duplicate(
    ctx: Context, editor: int, site: Loopback
) -> None:
    url = site.add("/news/napier", Reply(200, article(*NAPIER), HTML))
    add_story_by_url(parts(ctx), DAY, url, editor)
    fetches = len(site.requests)
    for again in (url, url + "?utm_campaign=share#comments"):
        with pytest.raises(AlreadyInEditionError, match="already in the Tue 10 Mar edition"):
            add_story_by_url(parts(ctx), DAY, again, editor)
    assert len(site.requests) == fetches  # a stored article is not fetched again
    with session_scope(ctx.engine, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 3
        assert session.scalar(select(func.count()).select_from(CurationEvent)) == 1
    assert sum(1 for e in entries(ctx) if e[1] == NAPIER[0]) == 1


def test_a_report_of_a_story_already_in_the_edition_is_refused(
    ctx: Context, editor: int, site: Loopback
) -> None:
    paragraphs = [
        "Inspectors found detainees at Harmondsworth immigration removal centre held for "
        "longer in worse conditions than at the last inspection, with broken windows, vermin "
        "and too few staff on the wings.",
        "The chief inspector of prisons said the centre near Heathrow was run-down and unsafe, "
        "and that some detainees had been held for more than a year.",
    ]
    url = site.add(
        "/harmondsworth",
        Reply(200, article(HARMONDSWORTH[0], HARMONDSWORTH[1], paragraphs), HTML),
    )
    with pytest.raises(AlreadyInEditionError):
        add_story_by_url(parts(ctx), DAY, url, editor)
    with session_scope(ctx.engine, write=False) as session:
        assert session.scalar(select(func.count()).select_from(CurationEvent)) == 0
        assert session.scalar(select(func.count()).select_from(Item)) == 2  # rolled back

    # Removed by the editor earlier, the story comes back through its new report.
    with session_scope(ctx.engine) as session:
        edition = find_edition(session, DAY, LIST)
        (entry,) = [e for e in edition.entries if e.item.title == HARMONDSWORTH[0]]
        entry.removed, entry.removed_reason = True, "low_value"
        story_id = entry.story_id
    added = add_story_by_url(parts(ctx), DAY, url, editor, section="top-stories")
    assert added.joined_story and added.restored and added.story_id == story_id
    assert [e[:3] for e in entries(ctx)] == [
        ("top-stories", "Family reunion route reopens", False),
        ("top-stories", HARMONDSWORTH[0], True),  # back, at the end of its section
    ]
    with session_scope(ctx.engine, write=False) as session:
        edition = find_edition(session, DAY, LIST)
        assert len([e for e in edition.entries if e.story_id == story_id]) == 1


@pytest.mark.parametrize("status", [EditionStatus.SENDING, EditionStatus.SENT])
def test_an_edition_being_sent_or_sent_refuses(
    ctx: Context, editor: int, site: Loopback, status: EditionStatus
) -> None:
    url = site.add("/news/napier", Reply(200, article(*NAPIER), HTML))
    with session_scope(ctx.engine) as session:
        find_edition(session, DAY, LIST).status = status
    with pytest.raises(EditionClosedError, match=f"edition is {status}"):
        add_story_by_url(parts(ctx), DAY, url, editor)
    assert site.requests == []  # refused before any fetch


def test_an_approved_edition_still_takes_a_story(ctx: Context, editor: int, site: Loopback) -> None:
    url = site.add("/news/napier", Reply(200, article(*NAPIER), HTML))
    with session_scope(ctx.engine) as session:
        find_edition(session, DAY, LIST).status = EditionStatus.APPROVED
    assert add_story_by_url(parts(ctx), DAY, url, editor).title == NAPIER[0]


def test_no_edition_or_no_such_section(ctx: Context, editor: int, site: Loopback) -> None:
    url = site.add("/news/napier", Reply(200, article(*NAPIER), HTML))
    with pytest.raises(NotFoundError):
        add_story_by_url(parts(ctx), date(2026, 3, 11), url, editor)
    with pytest.raises(UsageError, match="no section 'sport'"):
        add_story_by_url(parts(ctx), DAY, url, editor, section="sport")
    assert site.requests == []


def test_without_the_test_setting_loopback_is_refused(
    ctx: Context, editor: int, site: Loopback
) -> None:
    url = site.add("/news/napier", Reply(200, article(*NAPIER), HTML))
    strict = parts(ctx)
    strict = replace(strict, guard=replace(strict.guard, allow_private=False))
    with pytest.raises(AddressNotPublicError, match="not public"):
        add_story_by_url(strict, DAY, url, editor)
    for refused in ("http://169.254.169.254/latest/meta-data/", "file:///etc/passwd"):
        with pytest.raises(UsageError):
            add_story_by_url(parts(ctx), DAY, refused, editor)  # even with it
    assert site.requests == []
    with session_scope(ctx.engine, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 2


XSS_TITLE = '<script>alert(1)</script> Hotel <img src=x onerror="alert(2)"> protest'


def test_markup_in_a_page_is_stored_as_plain_text(
    ctx: Context, editor: int, site: Loopback
) -> None:
    escaped = (
        "&lt;script&gt;alert(1)&lt;/script&gt; Hotel "
        "&lt;img src=x onerror=&quot;alert(2)&quot;&gt; protest"
    )
    page = article(
        XSS_TITLE,
        "Protesters gathered outside a hotel housing asylum seekers in Kent.",
        NAPIER[2],
        title_html=escaped,
        extra_body=(
            "<script>document.title='owned'; fetch('http://10.0.0.1/')</script>"
            '<img src="x" onerror="alert(3)">'
        ),
    )
    url = site.add("/xss", Reply(200, page, HTML))
    added = add_story_by_url(parts(ctx), DAY, url, editor)
    assert site.requests and all(path == "/xss" for path, _ in site.requests)  # nothing else
    with session_scope(ctx.engine, write=False) as session:
        item = session.get_one(Item, added.item_id)
        assert item.title == XSS_TITLE  # text, exactly as the page's headline reads
        assert item.full_text is not None
        # The page's own script and event handler are gone; its headline's words stay text.
        assert "document.title" not in item.full_text and "alert(3)" not in item.full_text
    _rank, _draft, email = compose(ctx, DAY)
    assert "<script>alert(1)" not in email.html and 'onerror="alert(2)"' not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert XSS_TITLE in email.text


@dataclass
class FakeClassifier:
    """Says nothing is relevant unless told to assume it; records how it was asked."""

    version: str = "fake-1"
    description: str = "a fake"
    asked: list[bool] = field(default_factory=list)

    def predict(
        self, items: Sequence[ItemText], *, assume_relevant: bool = False
    ) -> list[Prediction]:
        self.asked.append(assume_relevant)
        if assume_relevant:
            return [Prediction(True, 0.3, (("detention", 0.7),), "europe") for _ in items]
        return [Prediction(False, 0.1, (), None) for _ in items]


@dataclass
class BaselineLike:
    """A classifier that cannot be asked to assume relevance (like the keyword baseline)."""

    version: str = "baseline-1"
    description: str = "keywords"

    def predict(self, items: Sequence[ItemText]) -> list[Prediction]:
        return [Prediction(False, 0.2, (), None) for _ in items]


def test_the_classifier_is_told_a_person_judged_it_relevant(
    ctx: Context, editor: int, site: Loopback
) -> None:
    fake = FakeClassifier()
    url = site.add("/news/napier", Reply(200, article(*NAPIER), HTML))
    added = add_story_by_url(parts(ctx, classifier=fake), DAY, url, editor)
    assert fake.asked == [True]
    assert added.section == "europe"  # news from abroad goes under its region
    with session_scope(ctx.engine, write=False) as session:
        label = session.get_one(Item, added.item_id).label
        assert label is not None and label.relevant and label.model_version == "fake-1"
        assert (label.relevance, label.region) == (0.3, "europe")
        assert [t.topic for t in label.topics] == ["detention"]


def test_a_classifier_that_cannot_be_told_is_overruled(
    ctx: Context, editor: int, site: Loopback
) -> None:
    url = site.add("/news/napier", Reply(200, article(*NAPIER), HTML))
    added = add_story_by_url(parts(ctx, classifier=BaselineLike()), DAY, url, editor)
    assert added.section == "top-stories"  # no topic to place it by
    with session_scope(ctx.engine, write=False) as session:
        label = session.get_one(Item, added.item_id).label
        assert label is not None and label.relevant and label.region == "uk"


def test_a_page_without_text_keeps_its_head(ctx: Context, editor: int, site: Loopback) -> None:
    short = (
        b"<html><head><title>Short &amp; sweet</title>"
        b"<meta property='og:site_name' content='Local Paper'></head>"
        b"<body><p>Video only.</p></body></html>"
    )
    url = site.add("/video", Reply(200, short, {"Content-Type": "text/html"}))
    added = add_story_by_url(parts(ctx), DAY, url, editor)
    with session_scope(ctx.engine, write=False) as session:
        item = session.get_one(Item, added.item_id)
        assert item.title == "Short & sweet" and item.full_text is None
        assert item.extract_status == "empty" and item.publisher_name == "Local Paper"
        assert item.published_estimated and item.published_at == NOW


def test_read_head() -> None:
    head = read_head(
        "<html><head><meta charset='windows-1252'><title> Caf\xe9  news\n</title>"
        "<meta content='Desc &amp; more' name=description>"
        "<meta property=og:site_name content=Paper></head><body><title>not this</title>".encode(
            "cp1252"
        )
    )
    assert head.title == "Café news" and head.description == "Desc & more"
    assert head.site_name == "Paper" and head.published_at is None
    assert read_head(b"").title is None


@pytest.mark.parametrize(
    "hostile",
    ["<a " * 22_000, "<meta " * 11_000, "<title>" + "x" * 70_000, "<meta content='" * 5000],
)
def test_read_head_is_fast_on_hostile_input(hostile: str) -> None:
    started = time.monotonic()
    read_head(hostile.encode())
    assert time.monotonic() - started < 0.5
