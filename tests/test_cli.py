"""Every command has help; exit statuses are 0 (done), 1 (the job failed), 2 (bad usage or
input), each failure with a one-line reason on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from briefing.cli import cli
from tests.conftest import ROOT


def run(*args: str, **env: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env=env or None, catch_exceptions=False)


def all_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("command", all_commands(), ids=" ".join)
def test_every_command_has_help_and_is_documented(command: tuple[str, ...]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage: " in result.output
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert f"briefing {' '.join(command)}" in docs


def test_bad_usage_exits_2() -> None:
    assert run("fetch", "--no-such-option").exit_code == 2
    assert run("no-such-command").exit_code == 2


def test_bad_settings_exit_2_with_one_line() -> None:
    result = run("sources", "check", BRIEFING_SMTP_PORT="many")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "smtp_port" in result.stderr


def test_sources_check(tmp_path: Path) -> None:
    good = run("sources", "check", str(ROOT / "sources.yaml"))
    assert good.exit_code == 0 and "OK" in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("outlets:\n  - slug: Bad Slug\n")
    result = run("sources", "check", str(bad))
    assert result.exit_code == 2
    assert "line 2: outlets[0].slug" in result.stderr


def test_classify_exit_statuses(tmp_path: Path) -> None:
    good = tmp_path / "in.jsonl"
    good.write_text(json.dumps({"id": 1, "title": "Small boats cross the Channel"}) + "\n")
    result = run("classify", str(good))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["relevant"] is True
    assert "Labelling with the trained model m" in result.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    result = run("classify", str(bad))
    assert result.exit_code == 2 and "line 1: not JSON" in result.stderr


def test_a_failed_job_exits_1(tmp_path: Path) -> None:
    # Nothing listens on port 9 of loopback: every feed fails, so the fetch job fails.
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "outlets:\n  - slug: nowhere\n    name: Nowhere\n    segment: official\n"
        "    country: GB\n    language: en\n    domains: [nowhere.example]\n"
        "    feeds:\n      - url: http://127.0.0.1:9/feed\n        name: Feed\n"
    )
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert run("db", "upgrade", BRIEFING_DATABASE_URL=database).exit_code == 0
    result = run("fetch", BRIEFING_DATABASE_URL=database, BRIEFING_SOURCES=str(sources))
    assert result.exit_code == 1
    assert "every feed failed" in result.stderr
    assert "[1/1]       failed  http://127.0.0.1:9/feed: request failed" in result.stderr
    assert "Traceback" not in result.stderr
    only = run(
        "fetch", "--feed", "nowhere", BRIEFING_DATABASE_URL=database, BRIEFING_SOURCES=str(sources)
    )
    assert only.exit_code == 1 and "127.0.0.1:9/feed" in only.stderr
    unknown = run(
        "fetch",
        "--feed",
        "somewhere",
        BRIEFING_DATABASE_URL=database,
        BRIEFING_SOURCES=str(sources),
    )
    assert unknown.exit_code == 2 and "no such outlet slug or feed URL" in unknown.stderr
    health = run("sources", "health", BRIEFING_DATABASE_URL=database, BRIEFING_SOURCES=str(sources))
    assert health.exit_code == 0
    assert "failing" in health.stdout and "1 feeds; 0 unhealthy, 0 silent." in health.stdout
    as_json = run("sources", "health", "--json", BRIEFING_DATABASE_URL=database)
    (line,) = as_json.stdout.splitlines()
    assert json.loads(line)["failures"] == 2 and json.loads(line)["state"] == "failing"


def test_compose_of_a_missing_edition_database_fails_cleanly(tmp_path: Path) -> None:
    result = run(
        "compose",
        "--edition",
        "2026-03-10",
        BRIEFING_DATABASE_URL=f"sqlite:///{tmp_path / 'never-migrated.db'}",
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "briefing: the database has no briefing tables yet: run `briefing db upgrade`\n"
    )


def test_bad_as_of_is_bad_input() -> None:
    result = run("compose", "--as-of", "yesterday-ish")
    assert result.exit_code == 2 and "--as-of" in result.stderr


def test_evaluate_explain_and_model_commands(tmp_path: Path) -> None:
    import shutil

    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps(
            {
                "title": "Small boat arrivals hit new record as Channel crossings rise",
                "summary": "",
                "relevant": True,
                "topics": ["channel-crossings"],
                "region": "uk",
            }
        )
        + "\n"
        + json.dumps(
            {
                "title": "Arsenal complete transfer of Brazilian winger",
                "summary": "",
                "relevant": False,
                "topics": [],
                "region": None,
            }
        )
        + "\n"
    )
    report = run("evaluate", str(gold), "--json")
    assert report.exit_code == 0, report.stderr
    figures = json.loads(report.stdout)
    assert figures["items"] == 2 and figures["relevance"]["f1"] == 1.0
    assert "channel-crossings" in figures["topics"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x", "relevant": true, "topics": ["boats"]}\n')
    assert run("evaluate", str(bad)).exit_code == 2

    items = tmp_path / "items.jsonl"
    items.write_text(
        json.dumps({"id": 1, "title": "Hundreds cross the Channel in small boats"}) + "\n"
    )
    explained = json.loads(run("classify", str(items), "--explain").stdout)
    assert explained["explain"]["relevance"] and explained["explain"]["topics"]

    models = tmp_path / "models"
    shutil.copytree(ROOT / "classifiers" / "models", models)
    version = (models / "CURRENT").read_text().strip()
    listing = run("model", "list", "--json", BRIEFING_MODELS_DIR=str(models))
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert [r["version"] for r in rows if r["in_use"]] == [version]
    (models / "CURRENT").unlink()
    assert run("model", "use", "m000000000000", BRIEFING_MODELS_DIR=str(models)).exit_code == 2
    assert run("model", "use", version, BRIEFING_MODELS_DIR=str(models)).exit_code == 0
    assert (models / "CURRENT").read_text().strip() == version


def test_users_add_list_passwd_disable(tmp_path: Path) -> None:
    from briefing.db.migrate import upgrade

    database = f"sqlite:///{tmp_path / 'users.db'}"
    upgrade(database)
    password = {"BRIEFING_NEW_PASSWORD": "a long passphrase", "BRIEFING_DATABASE_URL": database}
    added = run("users", "add", "amina", "--role", "editor", **password)
    assert added.exit_code == 0 and added.stdout == "Added amina (editor).\n"
    assert run("users", "add", "amina", **password).exit_code == 2  # exists already
    short = run("users", "add", "bo", BRIEFING_NEW_PASSWORD="short", BRIEFING_DATABASE_URL=database)
    assert short.exit_code == 2 and "12 characters" in short.stderr
    assert run("users", "passwd", "amina", **password).exit_code == 0
    assert run("users", "disable", "amina", BRIEFING_DATABASE_URL=database).exit_code == 0
    listed = run("users", "list", BRIEFING_DATABASE_URL=database)
    assert listed.stdout == "amina\teditor (disabled)\n"
    assert run("users", "disable", "nobody", BRIEFING_DATABASE_URL=database).exit_code == 1
