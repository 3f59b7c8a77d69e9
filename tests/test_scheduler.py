"""The scheduler: on time through the clock changes, one per database, late only within grace,
and the send job's decisions against a real SMTP server."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.job import Job
from sqlalchemy import Engine, MetaData, Table, select

from briefing import scheduler as scheduling
from briefing.config.settings import load_settings
from briefing.db import lease
from briefing.db.engine import session_scope
from briefing.db.models import Alert, Edition, EditionStatus, Feed, Outlet
from briefing.pipeline import Context
from tests.smtp import Mailbox, free_port, smtp_server

LIST = "migration-news@groups.example.org"
LONDON_OFFSETS = {"GMT": timedelta(0), "BST": timedelta(hours=1)}


def context(database_url: str, clock: datetime | None = None, **settings: str) -> Context:
    env = {
        "BRIEFING_DATABASE_URL": database_url,
        "BRIEFING_LIST_ADDRESS": LIST,
        "BRIEFING_FROM_ADDRESS": "briefing@example.org",
        "BRIEFING_SMTP_HOST": "127.0.0.1",
        "BRIEFING_SMTP_SECURITY": "none",
    } | {f"BRIEFING_{k.upper()}": v for k, v in settings.items()}
    ctx = Context(load_settings(env))
    if clock is not None:
        ctx.clock = lambda: clock
    return ctx


@pytest.fixture
def ctx(database_url: str) -> Iterator[Context]:
    ctx = context(database_url)
    yield ctx
    ctx.close()


def fire_times(ctx: Context, job: str, start: datetime, end: datetime) -> list[datetime]:
    _function, trigger, _grace = scheduling.triggers(ctx)[job]
    times: list[datetime] = []
    previous = None
    now = start
    while True:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire > end:
            return times
        times.append(fire)
        previous, now = fire, fire + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("first", "last", "change"),
    [
        (date(2026, 3, 26), date(2026, 4, 1), date(2026, 3, 29)),  # clocks go forward
        (date(2026, 10, 22), date(2026, 10, 28), date(2026, 10, 25)),  # clocks go back
    ],
)
def test_the_send_happens_once_at_8_local_time_through_the_clock_change(
    first: date, last: date, change: date
) -> None:
    ctx = context("sqlite://", edition_days="mon,tue,wed,thu,fri,sat,sun")
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, 23, 59, tzinfo=UTC)
    for job, hour, minute in (("send", 8, 0), ("compose", 6, 30)):
        fires = fire_times(ctx, job, start, end)
        local = [f.astimezone(ctx.settings.tz) for f in fires]
        assert [t.date() for t in local] == [first + timedelta(days=n) for n in range(7)]
        assert {(t.hour, t.minute) for t in local} == {(hour, minute)}
        # In UTC the job moves by the hour the clocks moved: it follows London, not UTC.
        around = (change - timedelta(days=1), change + timedelta(days=1))
        before, after = (f for f in fires if f.date() in around)
        assert before.astimezone(UTC).hour != after.astimezone(UTC).hour


def test_weekend_days_have_no_edition_jobs() -> None:
    ctx = context("sqlite://")
    start = datetime(2026, 3, 6, tzinfo=UTC)  # a Friday
    fires = fire_times(ctx, "send", start, start + timedelta(days=7))
    assert [f.astimezone(ctx.settings.tz).strftime("%a") for f in fires] == [
        "Fri",
        "Mon",
        "Tue",
        "Wed",
        "Thu",
    ]


def test_a_lease_has_one_holder_until_it_expires(engine: Engine) -> None:
    t0, ttl = datetime(2026, 3, 10, 8, 0, tzinfo=UTC), timedelta(seconds=60)
    assert lease.acquire(engine, "scheduler", "host-a:1", t0, ttl)
    assert not lease.acquire(engine, "scheduler", "host-b:2", t0 + timedelta(seconds=30), ttl)
    assert lease.renew(engine, "scheduler", "host-a:1", t0 + timedelta(seconds=50), ttl)
    assert not lease.acquire(engine, "scheduler", "host-b:2", t0 + timedelta(seconds=100), ttl)
    # A silent holder loses it once it expires, and cannot renew it after that.
    later = t0 + timedelta(seconds=111)
    assert lease.acquire(engine, "scheduler", "host-b:2", later, ttl)
    assert not lease.renew(engine, "scheduler", "host-a:1", later, ttl)
    lease.release(engine, "scheduler", "host-a:1")  # not its lease: nothing happens
    state = lease.current(engine, "scheduler")
    assert state is not None and state.holder == "host-b:2"


def installed(ctx: Context) -> None:
    """The jobs stored in the database, as a scheduler that ran once left them."""
    scheduler = scheduling.build_scheduler(ctx)
    scheduler.start(paused=True)
    scheduling.install_jobs(scheduler, ctx)
    scheduler.shutdown()


def set_next_run(engine: Engine, job_id: str, when: datetime) -> None:
    """Downtime, as the job store sees it: the job's stored next run is in the past."""
    table = Table(scheduling.JOBS_TABLE, MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        row = table.c.id == job_id
        state = pickle.loads(conn.execute(select(table.c.job_state).where(row)).scalar_one())
        state["next_run_time"] = when
        conn.execute(
            table.update()
            .where(row)
            .values(job_state=pickle.dumps(state), next_run_time=when.timestamp())
        )


def stored_jobs(ctx: Context) -> dict[str, Job]:
    scheduler = scheduling.build_scheduler(ctx)
    scheduler.start(paused=True)
    scheduling.install_jobs(scheduler, ctx)
    jobs = {j.id: j for j in scheduler.get_jobs(jobstore="default")}
    scheduler.shutdown()
    return jobs


def test_jobs_persist_and_a_restart_keeps_their_next_runs(ctx: Context) -> None:
    installed(ctx)
    missed = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    set_next_run(ctx.engine, "send", missed)
    jobs = stored_jobs(ctx)  # start-up code adds its jobs again: the missed run must stay
    assert set(jobs) == {"fetch", "compose", "send", "send-now", "retrain", "prune"}
    assert jobs["send"].next_run_time == missed
    assert jobs["send"].misfire_grace_time == 90 * 60 and jobs["fetch"].misfire_grace_time is None

    changed = context(ctx.settings.database_url, send_at="09:15")
    moved = stored_jobs(changed)["send"]
    assert "hour='9', minute='15'" in str(moved.trigger)
    changed.close()


def wait_for(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def kinds(engine: Engine) -> set[str]:
    with session_scope(engine, write=False) as session:
        return set(session.scalars(select(Alert.kind)))


def test_after_downtime_a_run_within_grace_happens_and_a_later_one_alerts(
    database_url: str,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # The daily send time six hours from now, so that none of its regular times falls in
    # the last three hours: such a time, within the grace, would be run instead.
    send_at = (now + timedelta(hours=6)).astimezone(ZoneInfo("Europe/London"))
    ctx = context(database_url, send_at=f"{send_at:%H:%M}")
    installed(ctx)
    # compose was due 10 minutes ago (within the 90 of grace): it runs; send 3 hours ago:
    # it does not run late, it alerts.
    set_next_run(ctx.engine, "compose", now - timedelta(minutes=10))
    set_next_run(ctx.engine, "send", now - timedelta(hours=3))
    schedule = scheduling.Schedule(ctx, timedelta(seconds=30))
    schedule.start()
    try:
        assert wait_for(lambda: "missed-run" in kinds(ctx.engine))
        assert wait_for(lambda: _next_run(schedule, "compose") > now)  # it ran
    finally:
        schedule.stop()
    with session_scope(ctx.engine, write=False) as session:
        (missed,) = session.scalars(select(Alert).where(Alert.kind == "missed-run"))
    assert missed.key.startswith("send-") and "briefing send --edition" in missed.body
    assert lease.current(ctx.engine, scheduling.LEASE) is None
    ctx.close()


def _edition_exists(ctx: Context) -> bool:
    with session_scope(ctx.engine, write=False) as session:
        return session.scalar(select(Edition.id)) is not None


def _next_run(schedule: scheduling.Schedule, job_id: str) -> datetime:
    job = schedule.scheduler.get_job(job_id, jobstore="default")
    return job.next_run_time if job and job.next_run_time else datetime.min.replace(tzinfo=UTC)


# --- the send job's decisions ----------------------------------------------------------------

TUESDAY_8AM = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def add_edition(engine: Engine, status: str) -> None:
    with session_scope(engine) as session:
        session.add(
            Edition(
                edition_date=date(2026, 3, 10),
                list_address=LIST,
                status=status,
                subject="Migration news briefing — Tue 10 Mar 2026",
                html="<html><body>edition</body></html>",
                text="edition",
                window_start=TUESDAY_8AM - timedelta(days=1),
                window_end=TUESDAY_8AM,
            )
        )


@pytest.fixture
def box() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.mark.parametrize(
    ("status", "auto_send", "sent", "alert"),
    [
        (EditionStatus.APPROVED, "false", True, None),
        (EditionStatus.DRAFT, "true", True, None),
        (EditionStatus.DRAFT, "false", False, "not-approved"),
        (None, "true", False, "no-edition"),
    ],
)
def test_the_send_job_sends_the_approved_or_automated_edition_once(
    database_url: str,
    box: Mailbox,
    status: str | None,
    auto_send: str,
    sent: bool,
    alert: str | None,
) -> None:
    ctx = context(database_url, TUESDAY_8AM, auto_send=auto_send, smtp_port=str(box.port))
    if status:
        add_edition(ctx.engine, status)
    scheduling.run_send(ctx)
    scheduling.run_send(ctx)  # a second run (a restart, a duplicate trigger) changes nothing
    assert len(box.messages) == (1 if sent else 0)
    assert kinds(ctx.engine) == ({alert} if alert else set())
    ctx.close()


def test_send_now_goes_out_within_the_minute_once(database_url: str, box: Mailbox) -> None:
    ctx = context(database_url, TUESDAY_8AM, smtp_port=str(box.port))
    add_edition(ctx.engine, EditionStatus.APPROVED)
    scheduling.run_send_requested(ctx)
    assert box.messages == []  # approved for the scheduled time only
    with session_scope(ctx.engine) as session:
        edition = session.scalars(select(Edition)).one()
        edition.send_requested_at = TUESDAY_8AM - timedelta(minutes=1)
    scheduling.run_send_requested(ctx)
    scheduling.run_send_requested(ctx)
    assert len(box.messages) == 1
    ctx.close()


def test_no_send_and_no_alert_on_a_day_without_an_edition(database_url: str, box: Mailbox) -> None:
    saturday = datetime(2026, 3, 14, 8, 0, tzinfo=UTC)
    ctx = context(database_url, saturday, smtp_port=str(box.port))
    scheduling.run_send(ctx)
    assert box.messages == [] and kinds(ctx.engine) == set()
    ctx.close()


def test_an_empty_window_alerts_at_compose(database_url: str) -> None:
    ctx = context(database_url, datetime(2026, 3, 10, 6, 30, tzinfo=UTC))
    scheduling.run_compose(ctx)
    assert kinds(ctx.engine) == {"no-stories"}
    ctx.close()


def test_many_failing_feeds_alert_once_a_day(ctx: Context) -> None:
    with session_scope(ctx.engine) as session:
        outlet = Outlet(slug="bbc-news", name="BBC News", segment="mixed-middle", domains=[])
        for n in range(4):
            session.add(
                Feed(
                    outlet=outlet,
                    url=f"https://feeds.example.org/{n}.xml",
                    name=f"feed {n}",
                    consecutive_failures=9 if n == 0 else 0,
                )
            )
    scheduling.check_feeds(ctx)  # one in four failing: within the 25 % allowed
    assert kinds(ctx.engine) == set()
    with session_scope(ctx.engine) as session:
        for feed in session.scalars(select(Feed)):
            feed.consecutive_failures = 9 if feed.url.endswith(("0.xml", "1.xml")) else 0
    scheduling.check_feeds(ctx)
    scheduling.check_feeds(ctx)
    with session_scope(ctx.engine, write=False) as session:
        (alert,) = session.scalars(select(Alert))
    assert alert.kind == "feeds-unhealthy" and alert.subject == "2 of 4 feeds are failing"


def test_pruning_runs_from_the_scheduler(ctx: Context) -> None:
    scheduling.run_prune(ctx)  # what it deletes is tested in tests/db/test_prune.py


# --- `briefing run` as a process ---------------------------------------------------------


def start_run(database_url: str, port: int, **settings: str) -> subprocess.Popen[str]:
    env = (
        os.environ
        | {
            "BRIEFING_DATABASE_URL": database_url,
            "BRIEFING_SCHEDULER_LEASE_SECONDS": "3",
            "BRIEFING_LOG_FORMAT": "json",
            "BRIEFING_LIST_ADDRESS": LIST,
        }
        | {f"BRIEFING_{k.upper()}": v for k, v in settings.items()}
    )
    return subprocess.Popen(
        [sys.executable, "-m", "briefing", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent,
    )


def health(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except OSError:
        return None


@pytest.mark.slow
def test_one_scheduler_per_database_and_a_clean_stop(database_url: str, engine: Engine) -> None:
    port = free_port()
    first = start_run(database_url, port)
    try:
        assert wait_for(lambda: (health(port) or {}).get("scheduler", {}).get("running"), 30)  # type: ignore[union-attr]
        second = start_run(database_url, free_port())
        status, errors = second.wait(60), second.communicate()[1]
        assert status == 1 and "another scheduler is running" in errors, errors
        first.send_signal(signal.SIGTERM)
        assert first.wait(20) == 0
    finally:
        if first.poll() is None:
            first.kill()
        _out, log = first.communicate()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(entry["message"].startswith("scheduler started") for entry in lines)
    assert any(entry["message"] == "scheduler stopped" for entry in lines)
    assert lease.current(engine, "scheduler") is None  # given back on the way out


@pytest.mark.slow
def test_a_dead_schedulers_lease_expires_and_the_next_one_takes_over(
    database_url: str, engine: Engine
) -> None:
    port = free_port()
    dead = start_run(database_url, port)
    assert wait_for(lambda: health(port) is not None, 30)
    dead.send_signal(signal.SIGKILL)
    dead.communicate(timeout=10)
    state = lease.current(engine, "scheduler")
    assert state is not None  # it could not give its lease back
    assert wait_for(lambda: datetime.now(UTC) > state.expires_at, 10)
    port = free_port()
    heir = start_run(database_url, port)
    try:
        assert wait_for(lambda: (health(port) or {}).get("scheduler", {}).get("running"), 30)  # type: ignore[union-attr]
    finally:
        heir.send_signal(signal.SIGTERM)
        heir.communicate(timeout=20)
