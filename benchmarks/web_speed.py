"""The draft page (GET /editions/{day}) with 60 entries, under 10 signed-in users at once.

Run: .venv/bin/python benchmarks/web_speed.py   (from the repository root; add
--postgres postgresql://USER@127.0.0.1/DB to measure on a scratch database on that server too,
--requests N, --users N, --profile-requests N to change the load)

Method: a fresh database (SQLite in a temporary folder; with --postgres also a scratch database
created on that server and dropped afterwards) gets 64 stories of benchmarks/compose_speed.py
(1 to 5 reports each, headlines and summaries from the training data), the edition of
10 March 2026 is composed with section_max 60, so it holds max_entries = 60 entries, and 10
editor accounts are added. The app (briefing.web.app.create_app, unchanged) is served by
uvicorn, in one process as `briefing run` serves it, in a child process so that the clients
do not share its interpreter lock. Inside that process only, the app is wrapped in a timing
layer: for each page request, the time from the request reaching the app to its last body
byte leaving it (sign-in check, queries, template, session cookie; not HTTP parsing or the
network) is what "server time" means here. Each of 10 threads signs in with its own httpx
client and asks for the page in a closed loop (no pause between requests) until a shared count
of requests is used up: first a warm-up (30 requests, discarded), then the measured 300. The
clients also time each request. Percentiles are nearest-rank. Then one user alone asks for the
page 30 times, for the time of a request that does not wait for others.

Then, if the 95th percentile misses the 150 ms target or --profile-requests is given, a
profile of one user's requests (30 by default): the wall-clock time spent in each part of the
request (the sign-in checks, edition_view, curation_view, the template; timed by wrapping those
functions in the server process, the app's code untouched), the SQL statements per page, and
a cProfile listing of those parts from a second run (the profiler inflates the times; read
the shares).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import io
import json
import math
import os
import platform
import pstats
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, event, text

from briefing.config.settings import Settings, load_settings
from briefing.db.engine import make_engine, session_scope
from briefing.db.users import add_user
from briefing.pipeline import Context, compose

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmarks
from compose_speed import fill  # the same 60 stories as the compose benchmark
from ingest_steady_state import database_label, scratch_database

DAY = date(2026, 3, 10)
LIST = "briefing@example.org"
PAGE = f"/editions/{DAY.isoformat()}"
PASSWORD = "benchmark passphrase"
TARGET_MS = 150.0
ENTRIES = 60
BENCH = "/_bench/"  # the timing layer's own endpoints, answered before the app sees them


def settings_for(url: str) -> Settings:
    return load_settings(
        {
            "BRIEFING_DATABASE_URL": url,
            "BRIEFING_LIST_ADDRESS": LIST,
            "BRIEFING_SECTION_MAX": str(ENTRIES),
            "BRIEFING_SECRET_KEY": "benchmark-secret-key-for-sessions",
        }
    )


def prepare(url: str, users: int) -> int:
    """The 60-entry edition and `users` editors; returns the number of entries."""
    ctx = Context(settings_for(url))
    try:
        fill(ctx, ENTRIES + 4)  # a few stories to spare: the edition holds max_entries (60)
        _rank, draft, _email = compose(ctx, DAY)
        with session_scope(ctx.engine) as session:
            for n in range(users):
                add_user(session, f"editor{n}", PASSWORD, "editor", f"editor{n}@example.org")
        return len(draft.entries)
    finally:
        ctx.close()


# --- the server (in the child process) --------------------------------------------------------


# The parts of a page request, timed when profiling: (module, function, label).
PARTS = (
    ("briefing.web.security", "signed_in", "sign-in check (in require)"),
    ("briefing.web.app", "signed_in", "sign-in check (again, for the page header)"),
    ("briefing.web.app", "edition_view", "edition_view (the draft as the email shows it)"),
    ("briefing.web.app", "curation_view", "curation_view (the editing panel)"),
    ("jinja2.environment", "Template.render", "template rendering (edition.html)"),
)


class Breakdown:
    """When on: wall-clock time in each part of the page request, SQL statements, and (if
    asked) a deterministic profile (cProfile) of those parts. Installed by wrapping the
    functions in this process only; the app's code is not changed."""

    def __init__(self) -> None:
        self.on = False
        self.ms: dict[str, float] = defaultdict(float)
        self.statements = 0
        self.profiler: cProfile.Profile | None = None
        event.listen(Engine, "before_cursor_execute", self._statement)
        for module_name, name, label in PARTS:
            owner: Any = importlib.import_module(module_name)
            *path, attribute = name.split(".")
            for part in path:
                owner = getattr(owner, part)
            if hasattr(owner, attribute):
                setattr(owner, attribute, self._wrap(getattr(owner, attribute), label))

    def _wrap(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.on:
                return function(*args, **kwargs)
            started = time.perf_counter()
            if self.profiler:
                self.profiler.enable()
            try:
                return function(*args, **kwargs)
            finally:
                if self.profiler:
                    self.profiler.disable()
                self.ms[label] += 1000 * (time.perf_counter() - started)

        return timed

    def _statement(self, *_args: object) -> None:
        if self.on:
            self.statements += 1

    def start(self, profile: bool) -> None:
        self.ms.clear()
        self.statements = 0
        self.profiler = cProfile.Profile() if profile else None
        self.on = True

    def stop(self) -> dict[str, Any]:
        self.on = False
        report: dict[str, Any] = {"ms": self.ms, "statements": self.statements}
        if self.profiler:
            out = io.StringIO()
            stats = pstats.Stats(self.profiler, stream=out).strip_dirs()
            stats.sort_stats("tottime").print_stats(14)
            ours = r"(editions|queries|security|users|engine|models|app)\.py|edition\.html"
            stats.sort_stats("cumulative").print_stats(ours, 14)
            report["profile"] = out.getvalue()
        return report


class Timed:
    """An ASGI layer around the app: times each page request and answers /_bench/ itself."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: list[float] = []
        self.breakdown = Breakdown()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(BENCH):
            await self._own(path.removeprefix(BENCH), send)
            return
        if scope["type"] != "http" or path != PAGE:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.times.append(time.perf_counter() - started)

        await self.app(scope, receive, timed_send)

    async def _own(self, command: str, send: Any) -> None:
        answer: object = None
        if command == "times":
            answer, self.times = self.times, []
        elif command in ("parts-start", "profile-start"):
            self.breakdown.start(profile=command == "profile-start")
        elif command == "stop":
            answer = self.breakdown.stop()
        body = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def serve(url: str) -> None:
    """The child process: the app on a loopback port, which it prints, until terminated."""
    import uvicorn

    from briefing.web.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    app = Timed(create_app(settings_for(url)))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def server_process(url: str) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        base = f"http://127.0.0.1:{process.stdout.readline().strip()}"
        for _ in range(200):
            try:
                httpx.get(f"{base}{BENCH}times", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(10)


# --- the clients ------------------------------------------------------------------------------


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    login = client.get("/login").text
    token = login.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf": token}
    )
    if response.status_code != 303:
        raise RuntimeError(f"{username} could not sign in: {response.status_code}")
    return client


def load(clients: list[httpx.Client], requests: int) -> tuple[list[float], float]:
    """`requests` page loads shared by the clients, each in its own thread, no pause between
    them; returns each request's client-side seconds and the wall-clock seconds of it all."""
    left = iter(range(requests))
    lock = threading.Lock()
    times: list[float] = []
    failures: list[str] = []

    def user(client: httpx.Client) -> None:
        while True:
            with lock:
                if failures or next(left, None) is None:
                    return
            started = time.perf_counter()
            response = client.get(PAGE)
            elapsed = time.perf_counter() - started
            with lock:
                if response.status_code != 200 or "data-entry" not in response.text:
                    failures.append(f"the page answered {response.status_code}")
                times.append(elapsed)

    threads = [threading.Thread(target=user, args=(client,)) for client in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(failures[0])
    return times, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)]


def figures(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return "  ".join(
        f"{name} {percentile(ms, p):6.1f}"
        for name, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
    )


def measure(url: str, args: argparse.Namespace) -> None:
    """Prints the figures for one database."""
    entries = prepare(url, args.users)
    with server_process(url) as base:
        clients = [signed_in(base, f"editor{n}") for n in range(args.users)]
        page = clients[0].get(PAGE)
        print(
            f"  page: {entries} entries, {len(page.content) / 1000:.0f} KB of HTML "
            f"(the email itself is in a frame, fetched apart)"
        )
        load(clients, args.warmup)
        httpx.get(f"{base}{BENCH}times").raise_for_status()  # discard the warm-up's
        client_times, wall = load(clients, args.requests)
        server_times: list[float] = httpx.get(f"{base}{BENCH}times").json()
        print(
            f"  {args.requests} requests by {args.users} users at once in {wall:.1f} s "
            f"({args.requests / wall:.1f} pages/s)"
        )
        print(f"  server time, ms: {figures(server_times)}")
        print(f"  client time, ms: {figures(client_times)}")
        single, _ = load(clients[:1], 30)
        single_server: list[float] = httpx.get(f"{base}{BENCH}times").json()
        print(f"  one user alone, 30 requests: server time, ms: {figures(single_server)}")
        print(f"                               client time, ms: {figures(single)}")
        p95 = percentile(server_times, 95) * 1000
        verdict = "met" if p95 <= TARGET_MS else "MISSED"
        print(f"  target: p95 of server time <= {TARGET_MS:.0f} ms: {verdict} ({p95:.1f} ms)")
        if p95 > TARGET_MS or args.profile_requests:
            profile(base, clients[0], args.profile_requests or 30)
        for client in clients:
            client.close()


def profile(base: str, client: httpx.Client, requests: int) -> None:
    """Where one user's page request spends its time: the parts timed, then cProfile."""
    httpx.get(f"{base}{BENCH}times").raise_for_status()
    httpx.get(f"{base}{BENCH}parts-start").raise_for_status()
    load([client], requests)
    parts: dict[str, Any] = httpx.get(f"{base}{BENCH}stop").json()
    total = sum(httpx.get(f"{base}{BENCH}times").json()) * 1000 / requests
    print(
        f"  profile: one user, {requests} requests: {total:.0f} ms of server time per page, "
        f"{parts['statements'] / requests:.0f} SQL statements per page"
    )
    for label, ms in parts["ms"].items():
        print(f"    {ms / requests:6.1f} ms  {label}")
    rest = total - sum(parts["ms"].values()) / requests
    print(f"    {rest:6.1f} ms  the rest (middleware, session cookie, sending the response)")
    httpx.get(f"{base}{BENCH}profile-start").raise_for_status()
    load([client], requests)
    report: dict[str, Any] = httpx.get(f"{base}{BENCH}stop").json()
    print("  cProfile of those parts (times inflated by the profiler; compare shares):")
    seen: set[str] = set()
    for line in report["profile"].splitlines():
        if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced")):
            if line in seen and "function calls" in line:
                continue
            seen.add(line)
            print(f"    {line}")


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load1, load5, _ = os.getloadavg()
    return (
        f"{cores} cores (nproc), {platform.machine()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {load1:.1f} (1 min) {load5:.1f} (5 min)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="The draft page's speed under 10 users at once.")
    parser.add_argument(
        "--postgres", help="a postgresql:// URL: also measure on a scratch database"
    )
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile-requests", type=int, default=0)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    # Imported first, so the first requests do not include scikit-learn's import.
    import sklearn.feature_extraction.text  # noqa: F401

    print(
        "method: uvicorn (one process, as `briefing run`) in a child process on 127.0.0.1; "
        f"{args.users} signed-in httpx clients in threads, closed loop; {args.warmup} warm-up "
        f"then {args.requests} measured requests of GET {PAGE}; server time = request into "
        "the app to last body byte out, measured by a timing layer around the app"
    )
    print(f"machine: {machine()}")
    for db in (None, args.postgres) if args.postgres else (None,):
        with scratch_database(db) as url:
            if db is not None:
                engine = make_engine(url)
                with engine.connect() as connection:
                    version = connection.execute(text("SHOW server_version")).scalar()
                engine.dispose()
                print(f"{database_label(db)}, server {version}:")
            else:
                print(f"{database_label(db)}:")
            measure(url, args)


if __name__ == "__main__":
    main()
