"""`briefing search`, `briefing stats` and the archive part of `briefing db upgrade`, on both
databases: each output format says what the library says."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from click.testing import CliRunner, Result
from sqlalchemy import Engine

from briefing.archive.search import SearchQuery, search
from briefing.archive.trends import TrendQuery, outlet_names, trend, trend_rows
from briefing.cli import cli
from briefing.config.taxonomy import default_taxonomy
from tests.archive.conftest import Archive
from tests.archive.fixture import LONDON, SPIKE_DAY, SPIKE_TOPIC


def run(archive_engine: Engine, *args: str) -> Result:
    url = archive_engine.url.render_as_string(hide_password=False)
    env = {"BRIEFING_DATABASE_URL": url}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_search_in_every_format(archive: Archive) -> None:
    want = search(archive.engine, SearchQuery("calais", topic="channel-crossings"), LONDON)
    result = run(
        archive.engine, "search", "calais", "--topic", "channel-crossings", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["total"] == want.total
    assert [h["item_id"] for h in got["hits"]] == [h.item_id for h in want.hits]
    assert got["facets"]["segment"] == dict(want.facets["segment"])
    rows = list(
        csv.DictReader(
            io.StringIO(
                run(
                    archive.engine,
                    "search",
                    "calais",
                    "--topic",
                    "channel-crossings",
                    "--format",
                    "csv",
                ).stdout
            )
        )
    )
    assert [int(r["item_id"]) for r in rows] == [h.item_id for h in want.hits]
    table = run(archive.engine, "search", "calais", "--topic", "channel-crossings").stdout
    assert f"of {want.total:,} items" in table
    assert want.hits[0].title in table and "*" in table  # the highlighted word


def test_stats_in_every_format(archive: Archive) -> None:
    since, until = date(2026, 2, 1), date(2026, 4, 19)
    labels = {**default_taxonomy().topics, **outlet_names(archive.engine)}
    want = trend_rows(trend(archive.engine, TrendQuery(since, until, "outlet", "day"), labels))
    args = [
        "stats",
        "--by",
        "outlet",
        "--period",
        "day",
        "--since",
        "2026-02-01",
        "--until",
        "2026-04-19",
    ]
    got = json.loads(run(archive.engine, *args, "--format", "json").stdout)
    assert got == want
    rows = list(csv.DictReader(io.StringIO(run(archive.engine, *args, "--format", "csv").stdout)))
    assert [(r["period"], r["key"], int(r["items"])) for r in rows] == [
        (w["period"], w["key"], w["items"]) for w in want
    ]
    table = run(archive.engine, *args).stdout
    assert "share_of_fetched" in table and "†" in table  # the Daily Mail's failing day


def test_stats_spikes_and_terms(archive: Archive) -> None:
    spikes = json.loads(
        run(
            archive.engine,
            "stats",
            "--spikes",
            "--since",
            "2026-03-01",
            "--until",
            "2026-04-19",
            "--format",
            "json",
        ).stdout
    )
    assert [(s["day"], s["topic"]) for s in spikes] == [(SPIKE_DAY.isoformat(), SPIKE_TOPIC)]
    terms = json.loads(
        run(
            archive.engine,
            "stats",
            "--terms",
            "--period",
            "month",
            "--since",
            "2026-02-01",
            "--format",
            "json",
        ).stdout
    )
    assert {row["term"] for row in terms} == {"illegal migrants", "refugees"}
    assert sum(row["items"] for row in terms) > 0


def test_bad_archive_requests_exit_2_with_one_line(archive: Archive) -> None:
    for args in (
        ["search", "calais", "--topic", "boats"],
        ["search", "calais", "--since", "2026-03-02", "--until", "2026-03-01"],
        ["search", "x" * 600],
        ["stats", "--since", "2026-03-02", "--until", "2026-03-01"],
        ["stats"],  # --since is required
        ["stats", "--since", "2026-03-01", "--segment", "left"],
    ):
        result = run(archive.engine, *args)
        assert result.exit_code == 2, args
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(("briefing: ", "Error: ")), result.stderr
        assert "Traceback" not in result.stderr
