"""Accounts, passwords (argon2) and the audit log (I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from briefing.db.models import AuditEntry, Role, User
from briefing.errors import NotFoundError, UsageError

ROLES = tuple(r.value for r in Role)
MIN_PASSWORD = 12  # a passphrase; the page is on the internet
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this when the user does not exist takes as long as a real check, so
# response times do not reveal which user names exist.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    username: str
    role: str
    disabled: bool

    def can(self, needed: str) -> bool:
        """viewer < editor < admin."""
        return not self.disabled and ROLES[::-1].index(self.role) >= ROLES[::-1].index(needed)


def _account(user: User) -> Account:
    return Account(user.id, user.username, user.role, user.disabled)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")


def add_user(session: Session, username: str, password: str, role: str, email: str = "") -> Account:
    if role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 100 or not username.isprintable() or " " in username:
        raise UsageError("a user name is 1-100 printable characters without spaces")
    if session.scalar(select(User.id).where(User.username == username)):
        raise UsageError(f"user {username!r} exists already")
    _check_password(password)
    user = User(username=username, email=email, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    return _account(user)


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError("user", username)
    return user


def set_password(session: Session, username: str, password: str) -> None:
    _check_password(password)
    find_user(session, username).password_hash = _hasher.hash(password)


def set_disabled(session: Session, username: str, disabled: bool = True) -> None:
    find_user(session, username).disabled = disabled


def set_role(session: Session, username: str, role: str) -> None:
    if role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}")
    find_user(session, username).role = role


def list_users(session: Session) -> list[Account]:
    return [_account(u) for u in session.scalars(select(User).order_by(User.username))]


def authenticate(session: Session, username: str, password: str, now: datetime) -> Account | None:
    """The account, if the password is right and the account enabled; None otherwise."""
    user = session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    return _account(user)


def account(session: Session, user_id: int) -> Account | None:
    user = session.get(User, user_id)
    return _account(user) if user and not user.disabled else None


def audit(
    session: Session,
    user_id: int | None,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    entry = AuditEntry(user_id=user_id, action=action, target=target[:255], detail=detail or {})
    if now is not None:
        entry.created_at = now
    session.add(entry)
