"""The language tracker's term list as staff edit it (I/O): list, add, edit and delete
tracked terms, each change audited.

A new term, or a term whose phrases changed, is left with no `counted_at`: its counts are
(re)made over the whole archive by `rollup.count_terms`, which the caller starts (the web app
in a background thread; the nightly job picks up any count that was interrupted). A change of
label or kind alone keeps the counts, which belong to the term's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from briefing.archive.terms import parse_phrases, validate
from briefing.db.models import TermCount, TrackedTerm
from briefing.db.users import Account, audit
from briefing.errors import NotFoundError, UsageError

MAX_TERMS = 100  # every term is a pattern run over every relevant item of every day


@dataclass(frozen=True, slots=True)
class TermView:
    id: int
    label: str
    kind: str  # "loaded" or "neutral"
    phrases: tuple[str, ...]
    counted_at: datetime | None  # None: its counts are being made

    @property
    def counting(self) -> bool:
        return self.counted_at is None


@dataclass(frozen=True, slots=True)
class TermChange:
    term: TermView
    recount: bool  # its counts must be made again (new term, or new phrases)


def _view(term: TrackedTerm) -> TermView:
    return TermView(term.id, term.label, term.kind, tuple(term.phrases), term.counted_at)


def list_terms(session: Session) -> list[TermView]:
    """Loaded terms first, then neutral ones, each by label."""
    query = select(TrackedTerm).order_by(TrackedTerm.kind, func.lower(TrackedTerm.label))
    return [_view(term) for term in session.scalars(query)]


def get_term(session: Session, term_id: int) -> TrackedTerm:
    term = session.get(TrackedTerm, term_id)
    if term is None:
        raise NotFoundError("tracked term", term_id)
    return term


def _check_unique(session: Session, label: str, term_id: int | None = None) -> None:
    query = select(TrackedTerm.id).where(func.lower(TrackedTerm.label) == label.lower())
    if term_id is not None:
        query = query.where(TrackedTerm.id != term_id)
    if session.scalar(query.limit(1)) is not None:
        raise UsageError(f'there is already a term called "{label}": edit that one instead')


def _flush(session: Session, label: str) -> None:
    """Another person may have saved the same label a moment ago: the same clear message."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as e:
        raise UsageError(f'there is already a term called "{label}"') from e


def add_term(
    session: Session, user: Account, label: str, kind: str, phrases: str, now: datetime
) -> TermChange:
    """A new term from what was typed: phrases one per line or separated by commas."""
    label, kind = validate(label, kind)
    parsed = parse_phrases(phrases)
    _check_unique(session, label)
    if (session.scalar(select(func.count()).select_from(TrackedTerm)) or 0) >= MAX_TERMS:
        raise UsageError(f"at most {MAX_TERMS} tracked terms: delete one first")
    term = TrackedTerm(label=label, kind=kind, phrases=list(parsed), created_at=now, updated_at=now)
    session.add(term)
    _flush(session, label)
    audit(session, user.id, "term_add", label, {"kind": kind, "phrases": list(parsed)}, now)
    return TermChange(_view(term), recount=True)


def edit_term(
    session: Session,
    user: Account,
    term_id: int,
    label: str,
    kind: str,
    phrases: str,
    now: datetime,
) -> TermChange:
    label, kind = validate(label, kind)
    parsed = parse_phrases(phrases)
    term = get_term(session, term_id)
    _check_unique(session, label, term_id)
    recount = tuple(term.phrases) != parsed or term.counted_at is None
    before = {"label": term.label, "kind": term.kind, "phrases": list(term.phrases)}
    term.label, term.kind, term.phrases, term.updated_at = label, kind, list(parsed), now
    if recount:
        term.counted_at = None
        session.execute(delete(TermCount).where(TermCount.term_id == term_id))
    _flush(session, label)
    after = {"label": label, "kind": kind, "phrases": list(parsed)}
    audit(session, user.id, "term_edit", label, {"before": before, "after": after}, now)
    return TermChange(_view(term), recount=recount)


def delete_term(session: Session, user: Account, term_id: int, now: datetime) -> TermView:
    term = get_term(session, term_id)
    gone = _view(term)
    session.execute(delete(TermCount).where(TermCount.term_id == term_id))
    session.delete(term)
    session.flush()
    audit(session, user.id, "term_delete", gone.label, {"kind": gone.kind}, now)
    return gone
