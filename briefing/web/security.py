"""Who is asking and may they: sessions, roles, CSRF tokens and login throttling."""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from fastapi import HTTPException, Request
from sqlalchemy import Engine

from briefing.db.engine import session_scope
from briefing.db.users import Account, account

SESSION_USER = "uid"
SESSION_CSRF = "csrf"


class LoginRequired(Exception):
    """Raised by the role checks; the app answers with a redirect to the login page."""


def csrf_token(request: Request) -> str:
    """The session's token, created on first use; every form carries it back."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    """A state-changing request must carry the session's token (form field or header)."""
    expected = request.session.get(SESSION_CSRF)
    given = sent or request.headers.get("x-csrf-token", "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, given):
        raise HTTPException(
            403,
            "This form has expired or did not come from this site. Reload the page and try again.",
        )


def signed_in(engine: Engine, request: Request) -> Account | None:
    user_id = request.session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    with session_scope(engine, write=False) as session:
        return account(session, user_id)  # a disabled account is signed out at once


def require(engine: Engine, request: Request, role: str) -> Account:
    user = signed_in(engine, request)
    if user is None:
        raise LoginRequired()
    if not user.can(role):
        raise HTTPException(403, f"This needs the {role} role; you are signed in as a {user.role}.")
    return user


@dataclass
class LoginThrottle:
    """At most `per_name` failed logins for one user name, and `per_address` from one
    address, in `window` seconds (in memory: `briefing run` is one process)."""

    per_name: int = 5
    per_address: int = 20
    window: float = 15 * 60
    failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self.failures[key]
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def wait_seconds(self, username: str, address: str, now: float | None = None) -> int:
        """0 when a login may be tried; otherwise how long until it may."""
        now = time.monotonic() if now is None else now
        waits = []
        for key, limit in (
            (f"user:{username.lower()}", self.per_name),
            (f"ip:{address}", self.per_address),
        ):
            times = self._recent(key, now)
            if len(times) >= limit:
                waits.append(int(self.window - (now - times[0])) + 1)
        return max(waits, default=0)

    def failed(self, username: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.failures[f"user:{username.lower()}"].append(now)
        self.failures[f"ip:{address}"].append(now)

    def succeeded(self, username: str) -> None:
        self.failures.pop(f"user:{username.lower()}", None)
