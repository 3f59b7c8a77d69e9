"""A consistent copy of the live database (I/O): SQLite through its online backup API,
PostgreSQL through pg_dump.

Either way the copy is written to a hidden temporary file beside PATH and renamed into place
only when it is complete (and, for SQLite, has passed `PRAGMA integrity_check`), so a
half-written backup never looks like a finished one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from briefing.errors import BriefingError, UsageError


class BackupError(BriefingError):
    """The copy could not be made or failed its check; nothing was left at PATH."""

    default_message = "backup failed"


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    backend: str  # "sqlite" or "postgresql"
    size_bytes: int
    seconds: float

    def describe(self) -> str:
        """One line for people: what was written, how big, how long."""
        kind = (
            "SQLite copy, integrity check ok"
            if self.backend == "sqlite"
            else "pg_dump custom format; restore with pg_restore"
        )
        return f"Wrote {self.path} ({_size(self.size_bytes)}, {kind}) in {self.seconds:.1f} s."


def backup(
    database_url: str,
    path: Path,
    *,
    force: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> BackupReport:
    """Copy the database at `database_url` to `path` while the service keeps running.

    Raises UsageError (exit 2) when `path` exists and `force` is not given, when its folder is
    missing, or for a database that cannot be backed up this way; BackupError (exit 1) when
    the copy itself fails."""
    url = _parse(database_url)
    path = Path(path)
    _check_target(path, force=force)
    started = clock()
    backend = url.get_backend_name()
    if backend == "sqlite":
        _copy_sqlite(_sqlite_file(url, path), path)
    elif backend == "postgresql":
        _dump_postgresql(url, path)
    else:
        raise UsageError(f"backup knows SQLite and PostgreSQL databases, not {backend!r}")
    return BackupReport(path, backend, path.stat().st_size, clock() - started)


def _parse(database_url: str) -> URL:
    try:
        return make_url(database_url)
    except ArgumentError as e:
        raise UsageError(f"database_url is not a database URL: {e}") from None


def _check_target(path: Path, *, force: bool) -> None:
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give the path of the backup file")
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; choose another path or add --force")
    if not path.parent.is_dir():
        raise UsageError(f"the folder {path.parent} does not exist")


@contextlib.contextmanager
def _temporary_beside(path: Path) -> Iterator[Path]:
    """A fresh hidden file in PATH's folder (so the final rename is atomic), removed unless
    the block moved it into place."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
    finally:
        for leftover in (temporary, Path(f"{temporary}-journal")):
            leftover.unlink(missing_ok=True)


def _move_into_place(temporary: Path, path: Path) -> None:
    with temporary.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(temporary, path)
    with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


# --- SQLite ---------------------------------------------------------------------------------


def _sqlite_file(url: URL, path: Path) -> Path:
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        raise UsageError("an in-memory SQLite database cannot be backed up")
    if url.database.startswith("file:"):
        raise UsageError("give database_url as sqlite:///PATH to back it up")
    source = Path(url.database)
    if not source.is_file():
        raise BackupError(f"there is no SQLite database at {source} (check database_url)")
    if path.exists() and path.resolve() == source.resolve():
        raise UsageError(f"{path} is the database itself")
    return source


def _copy_sqlite(source: Path, path: Path) -> None:
    with _temporary_beside(path) as temporary:
        try:
            # uri=True with mode=rw: never create an empty database where the real one was
            # expected. One backup step copies every page inside a single read transaction:
            # a snapshot as of its start, while WAL lets the service go on writing.
            src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
            try:
                dst = sqlite3.connect(temporary)
                try:
                    src.backup(dst)
                    # The copy stands alone: one file, no -wal or -shm beside it.
                    dst.execute("PRAGMA journal_mode=DELETE")
                    problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
                finally:
                    dst.close()
            finally:
                src.close()
        except sqlite3.Error as e:
            raise BackupError(f"could not copy {source}") from e
        if problems != ["ok"]:
            raise BackupError(
                f"the copy of {source} failed its integrity check ({'; '.join(problems[:3])}); "
                "run `PRAGMA integrity_check` on the database itself"
            )
        _move_into_place(temporary, path)


# --- PostgreSQL -----------------------------------------------------------------------------


def _dump_postgresql(url: URL, path: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "pg_dump is not installed (or not on PATH): install the PostgreSQL client tools "
            "of the server's major version, e.g. `apt install postgresql-client-15`"
        )
    # libpq wants its own URL: no "+psycopg" driver, and no password on the command line,
    # where any user could read it in the process list; it goes in the environment.
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    conninfo = URL.create(
        "postgresql", url.username, None, url.host, url.port, url.database, url.query
    ).render_as_string(hide_password=False)
    with _temporary_beside(path) as temporary:
        command = [
            pg_dump,
            "--format=custom",
            "--no-password",  # never wait for a password prompt (cron has nobody to answer)
            f"--file={temporary}",
            f"--dbname={conninfo}",
        ]
        try:
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        except OSError as e:
            raise BackupError(f"could not run {pg_dump}") from e
        if result.returncode != 0:
            raise BackupError(_pg_dump_failure(result.stderr, result.returncode))
        _move_into_place(temporary, path)


def _pg_dump_failure(stderr: str, returncode: int) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("pg_dump: error: ")]
    reason = (errors or lines or [f"exit status {returncode}"])[0]
    for prefix in ("pg_dump: error: ", "pg_dump: "):
        reason = reason.removeprefix(prefix)
    if "version mismatch" in reason:
        hint = "install the pg_dump of the server's major version (or newer)"
    elif "password" in reason:
        hint = "put the password in database_url (it is passed in PGPASSWORD) or in ~/.pgpass"
    else:
        hint = "check database_url and that the server is reachable"
    return f"pg_dump failed: {reason} ({hint})"


def _size(size_bytes: int) -> str:
    if size_bytes < 1000:
        return f"{size_bytes} bytes"
    size, unit = size_bytes / 1000, "KB"
    for bigger in ("MB", "GB"):
        if size < 1000:
            break
        size, unit = size / 1000, bigger
    return f"{size:.1f} {unit}"
