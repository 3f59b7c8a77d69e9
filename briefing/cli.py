"""The `briefing` command line: each command parses, calls one function, prints."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from briefing.config.settings import Settings, load_settings
from briefing.errors import BriefingError, UsageError

if TYPE_CHECKING:
    from briefing.pipeline import Context


class _Group(click.Group):
    """Turns briefing's errors into a one-line reason and an exit status, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BriefingError as e:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"briefing: {e}", err=True)
            ctx.exit(e.exit_code)
        except Exception as e:  # a bug: say so in one line; --debug shows the traceback
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(
                f"briefing: unexpected error: {type(e).__name__}: {e} "
                "(run again with --debug for the traceback)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Group)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Path of briefing.toml (default: $BRIEFING_CONFIG or ./briefing.toml).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="briefing")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, debug: bool) -> None:
    """briefing: the daily migration press briefing.

    Settings come from briefing.toml and BRIEFING_* environment variables.
    """
    ctx.obj = _Lazy(lambda: load_settings(config_path=config))


class _Lazy:
    """Settings are read on first use, so `--help` works even with a broken config."""

    def __init__(self, load: Callable[[], Settings]) -> None:
        self._load = load
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = self._load()
        return self._settings


def _settings() -> Settings:
    lazy: _Lazy = click.get_current_context().find_object(_Lazy)  # type: ignore[assignment]
    return lazy.settings


def _context() -> Context:
    from briefing.pipeline import Context

    ctx = Context(_settings())
    click.get_current_context().call_on_close(ctx.close)
    return ctx


# --- the demo -------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="Serve the preview page after writing the outbox.",
)
@click.option("--port", default=8000, show_default=True, help="Port of the preview page.")
def demo(serve: bool, port: int) -> None:
    """Run the whole pipeline offline on bundled sample feeds.

    Example: briefing demo --no-serve
    """
    from briefing.demo.run import run_demo

    result = run_demo(_settings(), say=click.echo)
    ingest = result.fetched.ingest
    click.echo(
        f"Fetched {len(ingest.outcomes)} feeds: {ingest.new_items} items, "
        f"{len(result.fetched.labels.relevant)} about migration; "
        f"{result.fetched.pages.extracted} article pages read in full.\n"
        f"Composed {result.entries} stories into the edition of Tue 10 Mar 2026 "
        f"({result.html_bytes / 1000:.1f} KB of HTML).\n"
        f"Outbox:\n  {result.outbox.html}\n  {result.outbox.text}\n  {result.outbox.eml}"
    )
    if serve:
        from briefing.demo.run import DEMO_PASSWORD, DEMO_USER

        click.echo(f"Sign in as {DEMO_USER} with the password {DEMO_PASSWORD}.")
        _serve(result.settings, "127.0.0.1", port)


# --- database and sources -------------------------------------------------------------------


@cli.group(cls=_Group)
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to the newest schema (or REVISION).

    Example: briefing db upgrade
    """
    from briefing.archive import rollup
    from briefing.db.engine import make_engine
    from briefing.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    click.echo(f"Database at {revision}.")
    if revision != "head":
        return
    engine = make_engine(settings.database_url)
    try:
        if rollup.is_empty(engine):  # the archive figures are new: count the existing items
            now = datetime.now(settings.tz)
            with _progress("Counting the archive by day") as step:
                days = rollup.rebuild(engine, settings.tz, settings.prune_after_days, now, step)
            click.echo(f"Archive figures counted for {days} days.")
        with _progress("Counting tracked terms") as step:
            rollup.count_terms(engine, settings.tz, datetime.now(settings.tz), progress=step)
    finally:
        engine.dispose()


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database back to REVISION (base for empty).

    Example: briefing db downgrade base
    """
    from briefing.db.migrate import downgrade

    downgrade(_settings().database_url, revision)
    click.echo(f"Database at {revision}.")


@cli.group(cls=_Group)
def sources() -> None:
    """Outlets and feeds from sources.yaml."""


@sources.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def sources_check(path: Path | None) -> None:
    """Validate sources.yaml (or PATH); each problem is given with its line and field.

    Example: briefing sources check sources.yaml
    """
    from briefing.config.sources import load_sources
    from briefing.errors import SourcesError

    path = path or _settings().sources
    try:
        loaded = load_sources(path)
    except SourcesError as e:
        for problem in e.problems:
            click.echo(f"{e.path}: {problem}", err=True)
        raise UsageError(f"{len(e.problems)} problem(s) in {e.path}") from None
    feeds = sum(1 for _ in loaded.iter_feeds())
    click.echo(
        f"{path}: {len(loaded.outlets)} outlets, {len(loaded.aggregators)} aggregators, "
        f"{feeds} feeds: OK"
    )


@sources.command("sync")
def sources_sync() -> None:
    """Bring the database's outlets and feeds in line with sources.yaml.

    Example: briefing sources sync
    """
    from briefing.pipeline import sync

    report = sync(_context())
    click.echo(
        f"Outlets: {report.outlets_added} added, {report.outlets_updated} updated; "
        f"feeds: {report.feeds_added} added, {report.feeds_deactivated} deactivated."
    )


@sources.command("health")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
@click.option("--problems", is_flag=True, help="Only feeds that are unhealthy, silent or failing.")
def sources_health(as_json: bool, problems: bool) -> None:
    """List feeds with their last status, latency, items per day, last new item and failures.

    Unhealthy feeds (failing again and again) and silent ones (no new item for much longer
    than usual) come first: they are how feeds die without anyone noticing.
    Example: briefing sources health --problems
    """
    from briefing.archive.queries import feed_health

    ctx = _context()
    now = ctx.clock()
    views = feed_health(ctx.engine, now, ctx.feed_policy)
    if problems:
        views = [v for v in views if v.state in ("unhealthy", "silent", "failing")]
    if as_json:
        for v in views:
            click.echo(
                json.dumps(
                    {
                        "state": v.state,
                        "outlet": v.outlet,
                        "feed": v.feed,
                        "url": v.url,
                        "last_status": v.last_status,
                        "latency_ms": v.latency_ms,
                        "items_per_day": v.items_per_day,
                        "last_new_item_at": _iso(v.last_new_item_at),
                        "failures": v.failures,
                        "error": v.last_error,
                    }
                )
            )
        return
    click.echo(
        f"{'state':<13} {'outlet / feed':<44} {'last':<12} {'ms':>5} {'/day':>5} "
        f"{'last new item':<14} fails"
    )
    for v in views:
        name = f"{v.outlet} / {v.feed}"[:44]
        click.echo(
            f"{v.state:<13} {name:<44} {v.last_status or '-':<12} "
            f"{v.latency_ms if v.latency_ms is not None else '-':>5} "
            f"{v.items_per_day:>5} {_ago(v.last_new_item_at, now):<14} {v.failures}"
        )
    counts = {state: sum(v.state == state for v in views) for state in ("unhealthy", "silent")}
    click.echo(f"{len(views)} feeds; {counts['unhealthy']} unhealthy, {counts['silent']} silent.")


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    hours = (now - when).total_seconds() / 3600
    return f"{hours:.0f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"


# --- the pipeline stages --------------------------------------------------------------------


@cli.command()
@click.option("--all", "everything", is_flag=True, help="Fetch every feed, due or not.")
@click.option("--feed", help="Only this outlet's feeds (its slug) or this feed (its URL).")
def fetch(everything: bool, feed: str | None) -> None:
    """One ingest cycle over the feeds that are due, then label the new items.

    Shows a progress bar on a terminal and one line per feed otherwise.
    Example: briefing fetch --all
    """
    from briefing.ingest.stage import FeedOutcome, FeedStatus
    from briefing.pipeline import fetch as run

    bar = None

    def show(outcome: FeedOutcome, done: int, total: int) -> None:
        nonlocal bar
        if sys.stderr.isatty():
            if bar is None:
                bar = click.progressbar(length=total, label="Fetching feeds", file=sys.stderr)
            bar.update(1)
            if done == total:
                bar.render_finish()
            return
        counts = f"{outcome.new} new, {outcome.updated} updated"
        detail = outcome.error or f"{outcome.feed_url}: {counts}"
        click.echo(f"[{done}/{total}] {outcome.status:>12}  {detail}", err=True)

    summary = run(_context(), everything=everything, only=feed, on_feed=show)
    ingest = summary.ingest
    if feed and not ingest.outcomes:
        raise UsageError(f"--feed {feed}: no such outlet slug or feed URL in the database")
    click.echo(
        f"{len(ingest.outcomes)} feeds ({ingest.count(FeedStatus.FAILED)} failed, "
        f"{ingest.count(FeedStatus.NOT_MODIFIED)} unchanged): {ingest.new_items} new items, "
        f"{ingest.updated_items} updated, {len(summary.labels.relevant)} about migration; "
        f"{summary.pages.extracted} pages read in full."
    )
    for outcome in ingest.outcomes:
        if outcome.error and sys.stderr.isatty():
            click.echo(f"failed: {outcome.error}", err=True)
    if ingest.outcomes and ingest.count(FeedStatus.FAILED) == len(ingest.outcomes):
        raise BriefingError("every feed failed: check the network and `briefing sources health`")


@cli.command()
@click.argument("infile", type=click.File("r", encoding="utf-8"))
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="Where to write the JSON lines (default: standard output).",
)
@click.option(
    "--explain", is_flag=True, help="Add the terms that pushed relevance and each topic up or down."
)
def classify(infile: TextIO, output: TextIO, explain: bool) -> None:
    """Classify items from a JSON-lines file; no database needed.

    Each input line: {"id", "title", "summary", "url", "outlet", "published"}.
    Example: briefing classify items.jsonl -o labels.jsonl
    """
    from briefing.classify.jsonl import classify_lines
    from briefing.classify.model import load_classifier
    from briefing.config.sources import load_sources

    settings = _settings()
    classifier = load_classifier(settings.models_dir)
    if explain and not hasattr(classifier, "explain"):
        raise UsageError("--explain needs a trained model; run `briefing train` first")
    click.echo(f"Labelling with the {classifier.description}.", err=True)
    for line in classify_lines(infile, classifier, load_sources(settings.sources), explain):
        output.write(line + "\n")


@cli.command()
@click.option("--no-feedback", is_flag=True, help="Train on the seed data only.")
def train(no_feedback: bool) -> None:
    """Train the relevance, topic and region models on classifiers/training/ plus the
    curator's feedback; promote the new model if it does not regress on the held-back slice.

    Example: briefing train
    """
    from briefing.pipeline import train_model

    click.echo("Training (5-fold cross-validation for the thresholds)…", err=True)
    outcome = train_model(_context(), feedback=not no_feedback)
    held = outcome.held_back
    click.echo(
        f"Model {outcome.version}: {outcome.examples} examples "
        f"({outcome.feedback} from the curator), saved in {outcome.folder}"
    )
    click.echo(
        f"Held-back slice: relevance F1 {held.relevance.f1:.3f}, topic micro-F1 "
        f"{held.topic_micro.f1:.3f} end to end, "
        f"{outcome.topics_given_relevance.topic_micro.f1:.3f} on its relevant items"
    )
    if outcome.previous_held_back is not None:
        old = outcome.previous_held_back
        click.echo(
            f"Previous model {outcome.previous}: relevance F1 {old.relevance.f1:.3f}, "
            f"topic micro-F1 {old.topic_micro.f1:.3f}"
        )
    if outcome.promoted:
        click.echo(f"Promoted: the pipeline now uses {outcome.version}.")
    else:
        raise BriefingError(
            f"not promoted: {outcome.version} does worse on the held-back "
            f"slice; {outcome.previous} stays in use"
        )


@cli.command()
@click.argument("gold", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="The figures as JSON.")
def evaluate(gold: TextIO, as_json: bool) -> None:
    """Per-label precision, recall and F1 (micro and macro) of the model in use on a labelled
    JSON-lines file, and its most frequent mistakes.

    Each line: {"title", "summary", "relevant", "topics", "region"} (as in classifiers/training/).
    Example: briefing evaluate gold.jsonl
    """
    from briefing.classify.data import read_examples
    from briefing.classify.evaluate import evaluate as score
    from briefing.classify.model import load_classifier
    from briefing.config.taxonomy import default_taxonomy

    taxonomy = default_taxonomy()
    examples = read_examples(gold, gold.name, taxonomy)
    classifier = load_classifier(_settings().models_dir)
    predictions = classifier.predict([e.text for e in examples])
    report = score(examples, predictions, list(taxonomy.topics), list(taxonomy.regions))
    click.echo(f"Evaluating the {classifier.description}.", err=True)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo("\n".join(report.lines()))


@cli.group(cls=_Group)
def model() -> None:
    """Trained models: list them, choose the one in use."""


@model.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model.")
def model_list(as_json: bool) -> None:
    """List trained models, marking the one in use.

    Example: briefing model list
    """
    from briefing.classify.train import current_version, list_models

    folder = _settings().models_dir
    in_use = current_version(folder)
    for row in list_models(folder):
        if as_json:
            click.echo(json.dumps({**row, "in_use": row["version"] == in_use}))
        else:
            mark = "*" if row["version"] == in_use else " "
            click.echo(
                f"{mark} {row['version']}  trained {row['trained_at']}  "
                f"{row['examples']} examples  held-back relevance F1 "
                f"{row['relevance_f1']}, topic micro-F1 {row['topic_micro_f1']}"
            )


@model.command("use")
@click.argument("version")
def model_use(version: str) -> None:
    """Make VERSION the model the pipeline uses (to roll back, for instance).

    Example: briefing model use m0123456789ab
    """
    from briefing.classify.train import use_version

    use_version(_settings().models_dir, version)
    click.echo(f"The pipeline now uses {version}.")


def _parse_datetime(value: str | None, settings: Settings) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--as-of: {value!r} is not a date and time such as 2026-03-10T06:30"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=settings.tz)


@cli.command()
@click.option(
    "--edition",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Edition date (default: today's or the next edition day).",
)
@click.option("--as-of", "as_of", help="Cut-off instead of compose_at, e.g. 2026-03-10T07:15.")
@click.option(
    "--json",
    "json_out",
    type=click.File("w", encoding="utf-8"),
    help="Write the draft as JSON here.",
)
@click.option(
    "--html", "html_out", type=click.File("w", encoding="utf-8"), help="Write the email HTML here."
)
@click.option(
    "--text",
    "text_out",
    type=click.File("w", encoding="utf-8"),
    help="Write the plain-text email here.",
)
def compose(
    edition: datetime | None,
    as_of: str | None,
    json_out: TextIO | None,
    html_out: TextIO | None,
    text_out: TextIO | None,
) -> None:
    """Build (or rebuild) an edition's draft, keeping the editor's changes, and export it.

    Example: briefing compose --edition 2026-03-10 --json draft.json
    """
    from briefing.pipeline import compose as run
    from briefing.pipeline import next_edition_day

    ctx = _context()
    day: date = edition.date() if edition else next_edition_day(ctx)
    rank, draft, email = run(ctx, day, _parse_datetime(as_of, ctx.settings))
    if json_out:
        json.dump(draft.to_json(), json_out, ensure_ascii=False, indent=2)
    if html_out:
        html_out.write(email.html)
    if text_out:
        text_out.write(email.text)
    notes = [f"{rank.entries} stories from {rank.items} items"]
    if rank.repeats_left_out:
        notes.append(f"{rank.repeats_left_out} already sent and not grown since, left out")
    if draft.dropped_for_size:
        notes.append(f"{draft.dropped_for_size} lowest-ranked left out to stay under 100 KB")
    notes.append(f"{email.html_bytes / 1000:.1f} KB of HTML")
    click.echo(f"Edition {day}: {'; '.join(notes)}.", err=True)


@cli.command()
@click.option("--edition", type=click.DateTime(["%Y-%m-%d"]), help="Edition date.")
@click.option("--to", "to", help="Send a test copy to this address only.")
@click.option("--dry-run", is_flag=True, help="Build the message but do not send it.")
@click.option(
    "--force",
    is_flag=True,
    help="Send although the outcome of an earlier attempt is unknown (check the archive first).",
)
def send(edition: datetime | None, to: str | None, dry_run: bool, force: bool) -> None:
    """Deliver an edition: exactly once to the list, or a test copy with --to.

    The approved edition goes out, or the automated draft when auto_send is on. A test copy
    (--to) leaves the edition as it is.

    Example: briefing send --edition 2026-03-10 --to me@example.org
    """
    from briefing.pipeline import next_edition_day
    from briefing.pipeline import send as send_to_list

    ctx = _context()
    day: date = edition.date() if edition else next_edition_day(ctx)
    if dry_run:
        from briefing.compose.render import RenderedEmail
        from briefing.db.editions import find_edition
        from briefing.db.engine import session_scope
        from briefing.pipeline import write_to_outbox

        with session_scope(ctx.engine, write=False) as session:
            stored = find_edition(session, day, ctx.settings.list_address)
            email = RenderedEmail(stored.subject, stored.html, stored.text)
        files = write_to_outbox(ctx, day, email)
        click.echo(f"Not sent; the message is in {files.eml}.")
        return
    if to:
        from briefing.pipeline import send_test

        reply = send_test(ctx, day, to)
        click.echo(f"Sent a test copy of the {day} edition to {to}: {reply}")
        return
    outcome = send_to_list(ctx, day, force=force)
    attempts = "1 attempt" if outcome.attempts == 1 else f"{outcome.attempts} attempts"
    click.echo(
        f"Sent the {day} edition to {ctx.settings.list_address} ({attempts}; "
        f"Message-ID {outcome.message_id}): {outcome.reply}"
    )


# --- web and scheduler ----------------------------------------------------------------------


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from briefing.web.app import create_app

    click.echo(f"Preview on http://{host}:{port}/ (Ctrl-C to stop).")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the web app only.

    Example: briefing serve --port 8000
    """
    _serve(_settings(), host, port)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
def run(host: str, port: int) -> None:
    """Run the scheduler and the web app in one process.

    Fetches every fetch_every_minutes, composes at compose_at, sends at send_at, retrains
    weekly and prunes nightly, in the configured time zone. Only one scheduler runs per
    database; SIGTERM or Ctrl-C stops it cleanly.

    Example: briefing run --port 8000
    """
    from briefing.logs import configure_logging
    from briefing.scheduler import Schedule

    ctx = _context()
    settings = ctx.settings
    configure_logging(settings.log_format)
    schedule = Schedule(ctx, timedelta(seconds=settings.scheduler_lease_seconds))

    def stop_on_sigterm(signum: int, frame: object) -> None:
        # uvicorn shuts down gracefully, then raises the signal again: land here either way.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    schedule.start()
    try:
        _serve(settings, host, port)
    finally:
        schedule.stop()


@cli.group(cls=_Group)
def users() -> None:
    """Accounts and roles for the web app."""


def _password(prompt: bool) -> str:
    """From BRIEFING_NEW_PASSWORD (scripts) or typed twice, never on the command line."""
    import os

    given = os.environ.get("BRIEFING_NEW_PASSWORD")
    if given:
        return given
    if not prompt:
        raise UsageError("set BRIEFING_NEW_PASSWORD, or run this in a terminal to type it")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(["admin", "editor", "viewer"]),
    default="editor",
    show_default=True,
    help="viewer reads; editor curates and approves; admin also manages users and sources.",
)
@click.option("--email", default="", help="Where their test sends go.")
def users_add(username: str, role: str, email: str) -> None:
    """Add an account with a role (admin, editor, viewer).

    The password is typed twice (or read from BRIEFING_NEW_PASSWORD).

    Example: briefing users add amina --role editor --email amina@example.org
    """
    from briefing.db.engine import session_scope
    from briefing.db.users import add_user, audit

    ctx = _context()
    password = _password(sys.stdin.isatty())
    with session_scope(ctx.engine) as session:
        account = add_user(session, username, password, role, email)
        audit(session, None, "user_add", username, {"role": role, "by": "command line"})
    click.echo(f"Added {account.username} ({account.role}).")


@users.command("list")
def users_list() -> None:
    """List accounts and their roles."""
    from briefing.db.engine import session_scope
    from briefing.db.users import list_users

    ctx = _context()
    with session_scope(ctx.engine, write=False) as session:
        accounts = list_users(session)
    for account in accounts:
        state = " (disabled)" if account.disabled else ""
        click.echo(f"{account.username}\t{account.role}{state}")
    if not accounts:
        click.echo("No accounts yet: `briefing users add NAME --role admin`.", err=True)


@users.command("passwd")
@click.argument("username")
def users_passwd(username: str) -> None:
    """Set an account's password."""
    from briefing.db.engine import session_scope
    from briefing.db.users import audit, set_password

    ctx = _context()
    password = _password(sys.stdin.isatty())
    with session_scope(ctx.engine) as session:
        set_password(session, username, password)
        audit(session, None, "user_password", username, {"by": "command line"})
    click.echo(f"Password of {username} changed.")


@users.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
def users_disable(username: str, enable: bool) -> None:
    """Disable an account (its sessions end at their next request)."""
    from briefing.db.engine import session_scope
    from briefing.db.users import audit, set_disabled

    ctx = _context()
    with session_scope(ctx.engine) as session:
        set_disabled(session, username, not enable)
        audit(session, None, "user_enable" if enable else "user_disable", username)
    click.echo(f"{username} {'enabled' if enable else 'disabled'}.")


# --- archive --------------------------------------------------------------------------------

_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    help="How to print the result (default: a table).",
)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal, nothing otherwise (logs stay clean)."""
    bar: Any = None

    def step(done: int, total: int) -> None:
        nonlocal bar
        if not sys.stderr.isatty():
            return
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
        bar.update(done - bar.pos)

    yield step
    if bar is not None:
        bar.render_finish()


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _known(kind: str, value: str | None, known: Iterable[str]) -> str | None:
    if value is not None and value not in known:
        raise UsageError(f"--{kind} {value!r}: not one of {', '.join(sorted(known))}")
    return value


_DATE = click.DateTime(["%Y-%m-%d"])


@cli.command()
@click.argument("query", default="")
@click.option("--since", type=_DATE, help="From this day (London), e.g. 2026-01-01.")
@click.option("--until", type=_DATE, help="To this day, included.")
@click.option("--topic", help="Only items with this topic (its slug).")
@click.option("--segment", help="Only items from outlets in this segment.")
@click.option("--outlet", help="Only items from this outlet (its slug).")
@click.option("--region", help="Only items about this region.")
@click.option(
    "--sent/--not-sent",
    default=None,
    help="Only items that made (or did not make) a sent briefing.",
)
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance")
@click.option("--page", type=click.IntRange(1), default=1)
@click.option(
    "--limit", type=click.IntRange(1, 100), default=20, help="Hits per page (at most 100)."
)
@_FORMAT
def search(
    query: str,
    since: datetime | None,
    until: datetime | None,
    topic: str | None,
    segment: str | None,
    outlet: str | None,
    region: str | None,
    sent: bool | None,
    sort: str,
    page: int,
    limit: int,
    fmt: str,
) -> None:
    """Search the archive of relevant items: words (all must match), "a phrase",
    OR between alternatives, -word to exclude, word* for a prefix.

    Example: briefing search '"small boats" Calais' --since 2026-01-01 --segment right-leaning
    """
    from briefing.archive.search import SearchQuery, hit_rows, result_json
    from briefing.archive.search import search as run
    from briefing.archive.trends import to_csv, to_json
    from briefing.config.taxonomy import default_taxonomy
    from briefing.db.engine import make_engine

    settings, taxonomy = _settings(), default_taxonomy()
    request = SearchQuery(
        query,
        since=_day(since),
        until=_day(until),
        topic=_known("topic", topic, taxonomy.topics),
        segment=_known("segment", segment, [*taxonomy.segments, "unknown"]),
        outlet=outlet,
        region=_known("region", region, taxonomy.regions),
        sent=sent,
        sort=sort,  # type: ignore[arg-type]
        page=page,
        per_page=limit,
    )
    engine = make_engine(settings.database_url)
    try:
        result = run(engine, request, settings.tz)
    finally:
        engine.dispose()
    if fmt == "json":
        click.echo(to_json(result_json(result, settings.tz)))
    elif fmt == "csv":
        click.echo(to_csv(hit_rows(result, settings.tz)), nl=False)
    else:
        first = (page - 1) * limit
        shown = f"{first + 1} to {first + len(result.hits)} of " if result.hits else ""
        click.echo(f"{shown}{result.total:,} items")
        for hit in result.hits:
            when = hit.published_at.astimezone(settings.tz).strftime("%d %b %Y")
            sent_in = f"  [in the briefing of {hit.sent_in:%d %b %Y}]" if hit.sent_in else ""
            click.echo(f"\n{when}  {hit.outlet}  ({hit.segment}){sent_in}")
            click.echo(f"  {hit.title}")
            click.echo(f"  {hit.url}")
            snippet = "".join(f"*{t}*" if marked else t for t, marked in hit.snippet)
            if snippet:
                click.echo(f"  {' '.join(snippet.split())}")


@cli.command()
@click.option(
    "--by", type=click.Choice(["topic", "segment", "outlet", "region", "all"]), default="topic"
)
@click.option("--period", type=click.Choice(["day", "week", "month"]), default="week")
@click.option("--since", type=_DATE, required=True, help="From this day (London), e.g. 2026-01-01.")
@click.option("--until", type=_DATE, help="To this day, included (default: today).")
@click.option("--topic", help="Only this topic's items (its slug).")
@click.option(
    "--terms", is_flag=True, help="The language tracker instead: tracked terms per period."
)
@click.option("--segment", help="With --terms: only this segment's outlets.")
@click.option("--spikes", is_flag=True, help="List the days a topic's coverage spiked instead.")
@_FORMAT
def stats(
    by: str,
    period: str,
    since: datetime,
    until: datetime | None,
    topic: str | None,
    terms: bool,
    segment: str | None,
    spikes: bool,
    fmt: str,
) -> None:
    """Trend figures: relevant items per period by topic, segment, outlet or region, with
    their share of all items fetched and the periods when feeds behind them were failing.

    Example: briefing stats --by segment --period month --since 2026-01-01 --topic channel-crossings
    """
    from briefing.archive import trends
    from briefing.config.taxonomy import default_taxonomy
    from briefing.db.engine import make_engine

    settings, taxonomy = _settings(), default_taxonomy()
    first, last = since.date(), _day(until) or datetime.now(settings.tz).date()
    _known("topic", topic, taxonomy.topics)
    _known("segment", segment, [*taxonomy.segments, "unknown"])
    engine = make_engine(settings.database_url)
    try:
        if spikes:
            found = trends.spikes(engine, first, last)
            rows = [
                {
                    "day": s.day.isoformat(),
                    "topic": s.topic,
                    "items": s.count,
                    "daily_average_4_weeks": round(s.baseline, 2),
                }
                for s in found
                if not topic or s.topic == topic
            ]
        elif terms:
            rows = trends.term_rows(
                trends.term_trend(engine, first, last, period, segment)  # type: ignore[arg-type]
            )
        else:
            labels = {**taxonomy.topics, **trends.outlet_names(engine)}
            query = trends.TrendQuery(first, last, by, period, topic)  # type: ignore[arg-type]
            rows = trends.trend_rows(trends.trend(engine, query, labels))
    finally:
        engine.dispose()
    if fmt == "json":
        click.echo(trends.to_json(rows))
    elif fmt == "csv":
        click.echo(trends.to_csv(rows), nl=False)
    else:
        _table(rows)


def _table(rows: list[dict[str, Any]]) -> None:
    """Aligned columns; shares as percentages; a dagger where feeds were failing."""
    if not rows:
        click.echo("Nothing counted in this range.")
        return
    columns = [c for c in rows[0] if c not in ("label", "feeds_failing", "fetched")]

    def cell(row: dict[str, Any], column: str) -> str:
        value = row[column]
        if column.startswith("share_of"):
            return "" if value is None else f"{value:.1%}"
        if isinstance(value, int):
            text = f"{value:,}"
            return text + ("†" if column == "items" and row.get("feeds_failing") else "")
        return str(value)

    cells = [[cell(row, c) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    if any(row.get("feeds_failing") for row in rows):
        click.echo(
            "† a quarter or more of the feeds behind this figure failed on a day of the period"
        )


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def backup(path: Path, force: bool) -> None:
    """Write a consistent copy of the database to PATH, while the service runs.

    SQLite: the online backup API, then an integrity check of the copy. PostgreSQL:
    pg_dump's custom format (restore it with pg_restore). The copy appears at PATH only
    once it is complete.

    Example: briefing backup /var/backups/briefing/briefing-2026-03-10.db
    """
    from briefing.db.backup import backup as back_up

    click.echo(back_up(_settings().database_url, path, force=force).describe())


def main() -> None:
    cli.main(prog_name="briefing")


if __name__ == "__main__":
    main()
