"""A lease in the database: at most one live holder of a name (the scheduler) at a time (I/O).

The holder renews it well before it expires; a holder that dies stops renewing, and once the
lease has expired anyone may take it. Each step is one short transaction, and the
compare-and-set runs inside it (SQLite: BEGIN IMMEDIATE; PostgreSQL: the row's lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from briefing.db.engine import session_scope
from briefing.db.models import Lease


@dataclass(frozen=True, slots=True)
class LeaseState:
    holder: str
    acquired_at: datetime
    expires_at: datetime


def acquire(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease if it is free, expired or already ours; False if someone else holds it."""
    try:
        with session_scope(engine) as session:
            taken = session.execute(
                update(Lease)
                .where(Lease.name == name)
                .where((Lease.holder == holder) | (Lease.expires_at <= now))
                .values(holder=holder, acquired_at=now, expires_at=now + ttl)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return True
            if session.get(Lease, name) is not None:
                return False
            session.add(Lease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
        return True
    except IntegrityError:  # another process created it between our two statements
        return False


def renew(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Extend our lease; False when it is no longer ours (we were too slow and lost it)."""
    with session_scope(engine) as session:
        renewed = session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder, Lease.expires_at > now)
            .values(expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        )
        return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]


def release(engine: Engine, name: str, holder: str) -> None:
    with session_scope(engine) as session:
        session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def current(engine: Engine, name: str) -> LeaseState | None:
    with session_scope(engine, write=False) as session:
        lease = session.scalar(select(Lease).where(Lease.name == name))
        return LeaseState(lease.holder, lease.acquired_at, lease.expires_at) if lease else None
