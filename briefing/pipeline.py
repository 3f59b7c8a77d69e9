"""The one place that knows the order of the stages; the CLI, the demo and (later) the
scheduler call these functions and nothing deeper."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path

import httpx
from sqlalchemy import Engine

from briefing.archive import rollup
from briefing.classify.data import Example, data_hash, load_seed
from briefing.classify.evaluate import Evaluation, evaluate
from briefing.classify.model import Classifier, load_classifier
from briefing.classify.stage import ClassifyReport, candidate_item_ids, run_classify
from briefing.compose.context import Draft
from briefing.compose.render import RenderedEmail
from briefing.compose.stage import run_compose
from briefing.config.settings import WEEKDAYS, Settings
from briefing.config.sources import Sources, load_sources
from briefing.config.taxonomy import Taxonomy, default_taxonomy
from briefing.db.editions import previous_cutoff
from briefing.db.engine import DatabaseError, make_engine, session_scope
from briefing.db.feedback import feedback_examples
from briefing.db.outlets import SyncReport, sync_sources
from briefing.deliver.alerts import AlertMail
from briefing.deliver.message import build_message
from briefing.deliver.outbox import OutboxFiles, write_outbox
from briefing.deliver.smtp import SmtpServer
from briefing.deliver.stage import Mail, SendOutcome, send_edition, send_test_copy
from briefing.errors import UsageError
from briefing.ingest.fetch import FetchLimits
from briefing.ingest.schedule import FeedPolicy
from briefing.ingest.stage import (
    IngestReport,
    Network,
    PagesReport,
    ProgressCallback,
    run_fetch,
    run_fetch_pages,
)
from briefing.rank.stage import RankReport, run_rank
from briefing.rank.window import edition_window
from briefing.resources import data_path

# An edition after a long gap (the server was down) covers at most this much.
MAX_WINDOW = timedelta(days=7)
# Items whose cheap title-and-summary score reaches this get their page fetched for full text.
CANDIDATE_RELEVANCE = 0.25


log = logging.getLogger("briefing.pipeline")


@dataclass
class Context:
    """Settings plus the expensive things built from them, each on first use."""

    settings: Settings
    transport: httpx.AsyncBaseTransport | None = None  # the demo's and the tests' seam
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return default_taxonomy()

    @cached_property
    def sources(self) -> Sources:
        return load_sources(self.settings.sources, self.taxonomy)

    @cached_property
    def classifier(self) -> Classifier:
        return load_classifier(self.settings.models_dir)

    @property
    def network(self) -> Network:
        settings = self.settings
        limits = FetchLimits(
            connections=settings.fetch_concurrency, host_delay=settings.fetch_host_delay_seconds
        )
        return Network(limits, settings.contact_email, self.transport)

    @property
    def feed_policy(self) -> FeedPolicy:
        settings = self.settings
        return FeedPolicy(
            default_interval=timedelta(minutes=settings.fetch_every_minutes),
            min_interval=timedelta(minutes=settings.fetch_min_minutes),
            max_interval=timedelta(minutes=settings.fetch_max_minutes),
            unhealthy_after=settings.unhealthy_after_failures,
        )

    @property
    def mail(self) -> Mail:
        settings = self.settings
        server = SmtpServer(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_username,
            settings.smtp_password.get_secret_value(),
            settings.smtp_ca_file,
        )
        return Mail(
            server,
            settings.from_address,
            settings.list_address,
            settings.reply_to,
            AlertMail(server, settings.from_address, settings.alert_address),
        )

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


@dataclass(frozen=True, slots=True)
class FetchSummary:
    ingest: IngestReport
    labels: ClassifyReport
    pages: PagesReport


def sync(ctx: Context) -> SyncReport:
    with session_scope(ctx.engine) as session:
        return sync_sources(session, ctx.sources)


def fetch(
    ctx: Context,
    *,
    everything: bool = False,
    only: str | None = None,
    on_feed: ProgressCallback | None = None,
) -> FetchSummary:
    """One ingest cycle: feeds, a first label from title and summary, full text for the
    candidates, and their label again with the text."""
    sync(ctx)
    report = run_fetch(
        ctx.engine,
        ctx.sources,
        ctx.network,
        ctx.clock(),
        policy=ctx.feed_policy,
        everything=everything,
        only=only,
        on_feed=on_feed,
    )
    first = run_classify(ctx.engine, ctx.classifier, ctx.clock())
    candidates = candidate_item_ids(ctx.engine, CANDIDATE_RELEVANCE)
    pages = run_fetch_pages(ctx.engine, ctx.network, candidates)
    again = run_classify(ctx.engine, ctx.classifier, ctx.clock(), candidates)
    labels = ClassifyReport(
        first.labelled | again.labelled, (first.relevant - again.labelled) | again.relevant
    )
    refresh_archive(ctx, labels.labelled)
    return FetchSummary(report, labels, pages)


def refresh_archive(ctx: Context, item_ids: Iterable[int] = ()) -> None:
    """Recount the archive figures for the days of these items, and today. A failure here
    must not fail the fetch or the send that called it: the nightly job recounts."""
    settings = ctx.settings
    try:
        rollup.refresh_items(
            ctx.engine, item_ids, settings.tz, settings.prune_after_days, ctx.clock()
        )
    except DatabaseError as e:
        log.warning("archive figures not recounted (%s); the nightly job will", e)


def next_edition_day(ctx: Context) -> date:
    day = ctx.clock().astimezone(ctx.settings.tz).date()
    while WEEKDAYS[day.weekday()] not in ctx.settings.edition_days:
        day += timedelta(days=1)
    return day


def compose(
    ctx: Context, day: date, as_of: datetime | None = None
) -> tuple[RankReport, Draft, RenderedEmail]:
    """Build (or rebuild) the day's draft; the editor's changes are kept."""
    settings = ctx.settings
    start, end = edition_window(day, settings.compose_at, settings.tz, settings.edition_days)
    if as_of is not None:
        end = as_of.astimezone(UTC)
    with session_scope(ctx.engine, write=False) as session:
        previous = previous_cutoff(session, day, settings.list_address)
    if previous is not None and end - MAX_WINDOW <= previous < end:
        start = previous  # the window runs on from the previous edition's cut-off
    rank = run_rank(
        ctx.engine, ctx.taxonomy, day, (start, end), settings.list_address, settings.rank_policy
    )
    draft, email = run_compose(ctx.engine, ctx.taxonomy, day, settings.list_address)
    return rank, draft, email


def write_to_outbox(ctx: Context, day: date, email: RenderedEmail) -> OutboxFiles:
    message = build_message(
        day,
        email,
        from_address=ctx.settings.from_address,
        to_address=ctx.settings.list_address,
        now=ctx.clock(),
    )
    return write_outbox(ctx.settings.outbox_dir, day, email, message)


def send(
    ctx: Context, day: date, *, force: bool = False, deadline: datetime | None = None
) -> SendOutcome:
    """The day's edition to the list, exactly once: the approved one, or the automated draft
    when auto_send is on; transient failures are retried until `deadline` (by default
    late_grace_minutes from now)."""
    settings = ctx.settings
    if not settings.list_address or not settings.from_address:
        raise UsageError("set list_address and from_address before sending to the list")
    grace = timedelta(minutes=settings.late_grace_minutes)
    outcome = send_edition(
        ctx.engine,
        ctx.mail,
        day,
        deadline=deadline or ctx.clock() + grace,
        allow_draft=settings.auto_send,
        force=force,
        clock=ctx.clock,
    )
    refresh_archive(ctx, rollup.edition_items(ctx.engine, day, settings.list_address))
    return outcome


def send_test(ctx: Context, day: date, to: str) -> str:
    if not ctx.settings.from_address:
        raise UsageError("set from_address before sending")
    return send_test_copy(ctx.engine, ctx.mail, day, to, ctx.clock())


@dataclass(frozen=True, slots=True)
class TrainOutcome:
    version: str
    folder: Path
    examples: int
    feedback: int
    held_back: Evaluation
    topics_given_relevance: Evaluation  # held-back relevant items, topics alone
    cross_validated: Evaluation
    promoted: bool
    previous: str | None
    previous_held_back: Evaluation | None


def train_model(
    ctx: Context, *, feedback: bool = True, seed_folder: Path | None = None
) -> TrainOutcome:
    """Train on the seed data (less its held-back slice) and the curator's feedback, save the
    model, and promote it only if it does no worse on the held-back slice than the current one."""
    from briefing.classify.train import (
        FEEDBACK_WEIGHT,
        beats,
        load_current,
        save_model,
        train,
        use_version,
    )

    seed = load_seed(seed_folder or data_path("classifiers/training"), ctx.taxonomy)
    corrections: list[Example] = []
    if feedback:
        try:
            with session_scope(ctx.engine, write=False) as session:
                corrections = feedback_examples(session, FEEDBACK_WEIGHT)
        except DatabaseError:
            corrections = []  # no database yet: the seed data alone
    held = [e for e in seed if e.held_back]
    training = [e for e in seed if not e.held_back] + corrections
    result = train(training, ctx.taxonomy)
    topics, regions = result.model.topics, result.model.regions

    def judged(classifier: Classifier) -> Evaluation:
        items = [e.text for e in held]
        return evaluate(held, classifier.predict(items), topics, regions)

    held_back = judged(result.model)
    on_topic = [e for e in held if e.relevant]
    topics_given_relevance = evaluate(
        on_topic,
        result.model.predict([e.text for e in on_topic], assume_relevant=True),
        topics,
        regions,
    )
    folder = ctx.settings.models_dir
    previous = load_current(folder)
    previous_held_back = judged(previous) if previous else None
    saved = save_model(
        result,
        folder,
        held_back,
        topics_given_relevance,
        {
            "examples": len(training),
            "feedback": len(corrections),
            "held_back": len(held),
            "data_hash": data_hash(training),
            "taxonomy_version": ctx.taxonomy.version,
        },
    )
    promoted = previous_held_back is None or beats(held_back, previous_held_back)
    if promoted:
        use_version(folder, result.model.version)
    return TrainOutcome(
        result.model.version,
        saved,
        len(training),
        len(corrections),
        held_back,
        topics_given_relevance,
        result.cross_validated,
        promoted,
        previous.version if previous else None,
        previous_held_back,
    )
