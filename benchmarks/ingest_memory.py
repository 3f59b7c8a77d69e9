"""Peak memory of ingest: the cold 300-feed cycle and the cold full-text ingest of the corpus.

Run: .venv/bin/python benchmarks/ingest_memory.py   (from the repository root; add
--db postgresql://USER@127.0.0.1/DB to run the feed cycle against PostgreSQL)

What it measures: the maximum resident set size of
  (i) one cold ingest cycle over 300 feeds (300 answers of 200, 6,000 new items), the workload
      of benchmarks/ingest_steady_state.py, and
  (ii) the cold ingest with full-text extraction of every page of the shared corpus
      (../shared/corpus/articles), the end-to-end workload of benchmarks/ingest_cold_pages.py,
      with 2 extraction worker processes.

How: each workload runs in a fresh Python process of its own (so the figures do not mix), by
calling that benchmark script with --report-memory; the script prints one "MEMORY {json}" line
with resource.getrusage(RUSAGE_SELF).ru_maxrss and, for (ii), RUSAGE_CHILDREN, which on Linux
is the peak of the largest worker process (a maximum, not a sum over the workers). The peak of
the process covers its whole life: imports, migrating the database and the set-up count too,
so the RSS just before the workload is printed next to it. The loopback HTTP servers run in a
separate process that is neither in RUSAGE_SELF nor waited for before the figures are taken,
and the corpus pages are loaded only in that server process, so neither figure includes them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TIMEOUT = 300.0  # seconds per measurement


def measure(script: str, extra: Sequence[str]) -> tuple[dict[str, Any] | None, float, str]:
    """Run one benchmark script with --report-memory in a fresh process: its MEMORY report
    (None when it failed), its wall-clock seconds and what it said on stderr."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, str(HERE / script), "--report-memory", *extra],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - started, f"{script} took longer than {TIMEOUT:g} s"
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("MEMORY ")]
    if done.returncode != 0 or not lines:
        reason = done.stderr.strip() or f"exit status {done.returncode}, no MEMORY line"
        return None, seconds, reason
    return json.loads(lines[-1].removeprefix("MEMORY ")), seconds, done.stderr.strip()


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Peak RSS of a cold 300-feed ingest cycle and of the corpus page ingest, "
        "each in a fresh process.",
        epilog="Run from the repository root: .venv/bin/python benchmarks/ingest_memory.py",
    )
    parser.add_argument(
        "--db", metavar="URL", help="a postgresql:// URL for the feed cycle (default SQLite)"
    )
    args = parser.parse_args(argv)
    feed_extra = ["--db", args.db] if args.db else []
    status = 0
    print(f"peak resident set size (ru_maxrss), one fresh process per measurement; {sys.platform}")
    for label, script, extra in (
        ("(i) cold 300-feed cycle", "ingest_steady_state.py", feed_extra),
        ("(ii) corpus page ingest", "ingest_cold_pages.py", []),
    ):
        report, seconds, said = measure(script, extra)
        if report is None:
            print(f"{label}: failed after {seconds:.0f} s: {said}", file=sys.stderr)
            status = status or 2
            continue
        print(
            f"{label} ({report['workload']}; benchmarks/{script} --report-memory, {seconds:.0f} s)"
        )
        print(
            f"    this process: max RSS {mib(report['maxrss_self_kib'])} "
            f"(RSS just before the workload {mib(report['rss_before_workload_kib'])})"
        )
        if "maxrss_children_kib" in report:
            print(
                f"    largest extraction worker process: max RSS "
                f"{mib(report['maxrss_children_kib'])}"
            )
    return status


if __name__ == "__main__":
    sys.exit(main())
