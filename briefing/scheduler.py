"""The scheduler (APScheduler 3.11): fetch, compose, send, retrain and prune on time, in the
edition's time zone, with its jobs kept in the application database.

The jobs are thin: each calls one function below, and those decide from the database what to
do, so a job that runs twice, late or after a restart does no harm (an edition is composed
only while it is a draft and sent only once). Only one scheduler may run per database: it
holds a lease there and renews it; a second one refuses to start until the lease expires.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from briefing.archive import rollup
from briefing.archive.queries import feed_health
from briefing.archive.trends import spikes
from briefing.config.settings import WEEKDAYS
from briefing.db import lease
from briefing.db.editions import find_edition
from briefing.db.engine import session_scope
from briefing.db.models import Edition, EditionStatus
from briefing.db.prune import prune
from briefing.deliver.alerts import raise_alert
from briefing.deliver.stage import recover_orphans, this_process
from briefing.errors import BriefingError, NotFoundError
from briefing.pipeline import Context, compose, fetch, send, train_model

log = logging.getLogger("briefing.scheduler")

LEASE = "scheduler"
JOBS_TABLE = "apscheduler_jobs"  # created by APScheduler itself, beside our tables
RETRAIN_AT = time(4, 30)
PRUNE_AT = time(3, 45)  # clear of 01:00-02:00, when the clocks change

_context: Context | None = None  # the one this process schedules for; jobs find it here


def _ctx() -> Context:
    assert _context is not None, "the scheduler has not been started"
    return _context


# --- what each job does (callable and testable without a scheduler) -------------------------


def is_edition_day(ctx: Context, day: date) -> bool:
    return WEEKDAYS[day.weekday()] in ctx.settings.edition_days


def local_today(ctx: Context) -> date:
    return ctx.clock().astimezone(ctx.settings.tz).date()


def at_local(ctx: Context, day: date, when: time) -> datetime:
    return datetime.combine(day, when, tzinfo=ctx.settings.tz).astimezone(UTC)


def alert(ctx: Context, kind: str, key: str, subject: str, body: str) -> None:
    raise_alert(ctx.engine, ctx.mail.alerts, kind, key, subject, body, ctx.clock())


def run_fetch(ctx: Context) -> None:
    summary = fetch(ctx)
    log.info(
        "fetch: %d feeds, %d new items, %d relevant",
        len(summary.ingest.outcomes),
        summary.ingest.new_items,
        len(summary.labels.relevant),
    )
    check_feeds(ctx)
    if ctx.settings.spike_alerts:
        check_spikes(ctx)


def check_spikes(ctx: Context) -> None:
    """Alert (once per topic and day) when a topic's coverage today is a spike."""
    today = local_today(ctx)
    for spike in spikes(ctx.engine, today, today):
        label = ctx.taxonomy.topic_label(spike.topic)
        alert(
            ctx,
            "topic-spike",
            f"{today.isoformat()}:{spike.topic}",
            f"Coverage spike: {label}, {spike.count} items today",
            f"{label}: {spike.count} relevant items so far today against a daily average of "
            f"{spike.baseline:.1f} over the last four weeks. The stats page lists the "
            f"spikes; the archive page filtered by topic and day shows the items.",
        )


def check_feeds(ctx: Context) -> None:
    """Alert (once a day) when more than unhealthy_alert_share of the feeds keep failing."""
    views = feed_health(ctx.engine, ctx.clock(), ctx.feed_policy)
    unhealthy = [v for v in views if v.unhealthy]
    if views and len(unhealthy) / len(views) > ctx.settings.unhealthy_alert_share:
        names = ", ".join(f"{v.outlet} ({v.feed})" for v in unhealthy[:10])
        alert(
            ctx,
            "feeds-unhealthy",
            local_today(ctx).isoformat(),
            f"{len(unhealthy)} of {len(views)} feeds are failing",
            f"Failing in a row: {names}. See `briefing sources health` for their errors; "
            "a network or DNS problem on the server fails them all at once.",
        )


def run_compose(ctx: Context) -> None:
    day = local_today(ctx)
    if not is_edition_day(ctx, day):
        return
    try:
        rank, draft, _email = compose(ctx, day)
    except BriefingError as e:  # an approved edition is not rebuilt, for one
        log.warning("compose of %s: %s", day, e)
        return
    log.info("composed %s: %d stories", day, len(draft.entries))
    if rank.items == 0:
        alert(
            ctx,
            "no-stories",
            day.isoformat(),
            f"the {day} edition has no migration stories",
            "No relevant item was published in its window. Check `briefing sources health` "
            "(are the feeds being read?) and the preview page before it goes out.",
        )


def run_send(ctx: Context) -> None:
    """At the send time: the approved edition, else the automated draft when auto_send is
    on, else an alert. Retries stop late_grace_minutes after the send time."""
    day = local_today(ctx)
    if not is_edition_day(ctx, day):
        return
    recover_orphans(ctx.engine, ctx.mail, ctx.clock())
    try:
        with session_scope(ctx.engine, write=False) as session:
            status = find_edition(session, day, ctx.settings.list_address).status
    except NotFoundError:
        status = None
    if status is None:
        alert(
            ctx,
            "no-edition",
            day.isoformat(),
            f"there is no {day} edition to send",
            "It was not composed (see the log around the compose time). Run `briefing "
            f"compose --edition {day}`, check it, then `briefing send --edition {day}`.",
        )
        return
    if status == EditionStatus.DRAFT and not ctx.settings.auto_send:
        alert(
            ctx,
            "not-approved",
            day.isoformat(),
            f"the {day} edition was not approved by the send time",
            "auto_send is off, so nothing was sent. Approve it on the curation page, or send "
            f"the draft as it stands with `briefing send --edition {day} --force`.",
        )
        return
    if status not in (EditionStatus.APPROVED, EditionStatus.DRAFT, EditionStatus.FAILED):
        log.info("send of %s: nothing to do, it is %s", day, status)
        return
    deadline = at_local(ctx, day, ctx.settings.send_at) + timedelta(
        minutes=ctx.settings.late_grace_minutes
    )
    try:
        outcome = send(ctx, day, deadline=deadline)
    except BriefingError as e:  # already alerted where it matters
        log.error("send of %s: %s", day, e)
        return
    log.info("sent %s (%s): %s", day, outcome.message_id, outcome.reply)


def run_send_requested(ctx: Context) -> None:
    """Editions an editor approved with "send now": sent within a minute, by this process."""
    with session_scope(ctx.engine, write=False) as session:
        days = list(
            session.scalars(
                select(Edition.edition_date).where(
                    Edition.list_address == ctx.settings.list_address,
                    Edition.status == EditionStatus.APPROVED,
                    Edition.send_requested_at.is_not(None),
                    Edition.send_requested_at <= ctx.clock(),
                )
            )
        )
    for day in days:
        try:
            outcome = send(ctx, day)
        except BriefingError as e:
            log.error("send of %s (asked for now): %s", day, e)
            continue
        log.info("sent %s on request (%s): %s", day, outcome.message_id, outcome.reply)


def run_retrain(ctx: Context) -> None:
    outcome = train_model(ctx)
    log.info(
        "retrained: %s on %d examples (%d from the curator); %s",
        outcome.version,
        outcome.examples,
        outcome.feedback,
        "promoted" if outcome.promoted else f"kept {outcome.previous}",
    )


def run_prune(ctx: Context) -> None:
    """Nightly: recount the archive's last two days (whole days of fetches by now), then
    prune, then count any tracked term whose counting was interrupted."""
    settings, today = ctx.settings, local_today(ctx)
    rollup.refresh(
        ctx.engine,
        [today - timedelta(days=1), today],
        settings.tz,
        settings.prune_after_days,
        ctx.clock(),
    )
    report = prune(ctx.engine, ctx.clock(), ctx.settings.prune_after_days)
    log.info(
        "pruned %d irrelevant items, %d stories and %d fetch-log rows older than %s",
        report.items,
        report.stories,
        report.fetch_logs,
        report.cutoff.date(),
    )
    rollup.count_terms(ctx.engine, settings.tz, ctx.clock())


# The jobs as APScheduler stores them: importable names, no arguments.


def fetch_job() -> None:
    run_fetch(_ctx())


def compose_job() -> None:
    run_compose(_ctx())


def send_job() -> None:
    run_send(_ctx())


def send_requested_job() -> None:
    run_send_requested(_ctx())


def retrain_job() -> None:
    run_retrain(_ctx())


def prune_job() -> None:
    run_prune(_ctx())


# --- the schedule ---------------------------------------------------------------------------


def triggers(ctx: Context) -> dict[str, tuple[Callable[[], None], BaseTrigger, int | None]]:
    """Job id -> (function, trigger, misfire grace in seconds; None: however late)."""
    settings = ctx.settings
    tz = settings.tz
    days = ",".join(settings.edition_days)
    grace = settings.late_grace_minutes * 60

    def daily(when: time, day_of_week: str | None = None) -> CronTrigger:
        return CronTrigger(day_of_week=day_of_week, hour=when.hour, minute=when.minute, timezone=tz)

    return {
        # Missed fetches (downtime) are coalesced into one run, however late.
        "fetch": (fetch_job, IntervalTrigger(minutes=settings.fetch_every_minutes), None),
        "compose": (compose_job, daily(settings.compose_at, days), grace),
        "send": (send_job, daily(settings.send_at, days), grace),
        "send-now": (send_requested_job, IntervalTrigger(minutes=1), None),
        "retrain": (retrain_job, daily(RETRAIN_AT, settings.retrain_weekday), 6 * 3600),
        "prune": (prune_job, daily(PRUNE_AT), 6 * 3600),
    }


def build_scheduler(ctx: Context) -> BackgroundScheduler:
    """A scheduler with the jobs in the database, added only when absent so that a run
    missed during downtime is still found (and run within its grace) after a restart; a job
    whose settings changed gets its new trigger."""
    scheduler = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(engine=ctx.engine, tablename=JOBS_TABLE),
            "memory": MemoryJobStore(),
        },
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=ctx.settings.tz,
    )
    scheduler.add_listener(lambda event: _missed(ctx, event), EVENT_JOB_MISSED)
    return scheduler


def install_jobs(scheduler: BackgroundScheduler, ctx: Context) -> None:
    for job_id, (function, trigger, grace) in triggers(ctx).items():
        existing = scheduler.get_job(job_id, jobstore="default")
        if existing is None:
            scheduler.add_job(
                function, trigger, id=job_id, jobstore="default", misfire_grace_time=grace
            )
        elif str(existing.trigger) != str(trigger) or existing.misfire_grace_time != grace:
            scheduler.modify_job(job_id, jobstore="default", misfire_grace_time=grace)
            scheduler.reschedule_job(job_id, jobstore="default", trigger=trigger)


def _missed(ctx: Context, event: Any) -> None:
    """A compose or send that could not run within its grace after downtime: say so."""
    assert isinstance(event, JobExecutionEvent)
    when = event.scheduled_run_time.astimezone(ctx.settings.tz)
    by_hand = {
        "compose": f"`briefing compose --edition {when:%Y-%m-%d}`",
        "send": f"`briefing send --edition {when:%Y-%m-%d}`",
        "retrain": "`briefing train`",
    }.get(event.job_id, "nothing: it runs again at its next time")
    alert(
        ctx,
        "missed-run",
        f"{event.job_id}-{when:%Y-%m-%dT%H:%M}",
        f"the {event.job_id} due at {when:%a %d %b %H:%M} did not run",
        f"briefing was not running then and came back more than "
        f"{ctx.settings.late_grace_minutes} minutes late, so it was not run late. "
        f"By hand, if it is still wanted: {by_hand}.",
    )


# --- one scheduler per database -------------------------------------------------------------


class SchedulerRunning(BriefingError):
    """Another scheduler holds the lease."""


class Schedule:
    """The running scheduler with its lease: start() takes the lease or refuses; a heartbeat
    renews it and stops everything if it was lost; stop() gives it back."""

    def __init__(self, ctx: Context, lease_ttl: timedelta) -> None:
        self.ctx = ctx
        self.ttl = lease_ttl
        self.holder = this_process()
        self.scheduler = build_scheduler(ctx)
        self.lost = False

    def start(self) -> None:
        global _context
        now = self.ctx.clock()
        if not lease.acquire(self.ctx.engine, LEASE, self.holder, now, self.ttl):
            state = lease.current(self.ctx.engine, LEASE)
            held = f"{state.holder} until {state.expires_at:%H:%M:%S} UTC" if state else "?"
            raise SchedulerRunning(
                f"another scheduler is running on this database ({held}); this one stops. "
                "If that process is gone, start again once its lease has expired."
            )
        _context = self.ctx
        # The previous holder is gone: an edition it left "sending" has an unknown outcome.
        recover_orphans(self.ctx.engine, self.ctx.mail, now)
        # Started paused: the stored jobs are only visible once the job stores have started.
        self.scheduler.start(paused=True)
        install_jobs(self.scheduler, self.ctx)
        self.scheduler.add_job(
            self.heartbeat,
            IntervalTrigger(seconds=max(1, self.ttl.total_seconds() / 3)),
            id="heartbeat",
            jobstore="memory",
        )
        self.scheduler.resume()
        log.info("scheduler started (%s); jobs: %s", self.holder, self.describe())

    def heartbeat(self) -> None:
        if not lease.renew(self.ctx.engine, LEASE, self.holder, self.ctx.clock(), self.ttl):
            self.lost = True
            log.critical("the scheduler's lease was lost; stopping its jobs")
            self.scheduler.pause()

    def describe(self) -> str:
        jobs = self.scheduler.get_jobs(jobstore="default")
        return ", ".join(f"{j.id} at {j.next_run_time:%a %H:%M}" for j in jobs if j.next_run_time)

    def stop(self) -> None:
        global _context
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if not self.lost:
            lease.release(self.ctx.engine, LEASE, self.holder)
        _context = None
        log.info("scheduler stopped")


def scheduler_state(ctx: Context) -> dict[str, object]:
    """For /healthz: who holds the lease and whether it is fresh."""
    state = lease.current(ctx.engine, LEASE)
    if state is None:
        return {"running": False}
    return {
        "running": state.expires_at > ctx.clock(),
        "holder": state.holder,
        "lease_expires_at": state.expires_at.isoformat(),
    }
