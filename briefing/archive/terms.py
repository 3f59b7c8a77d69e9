"""The language tracker's term list (pure): parsing what staff type, and matching it.

A term is a label ("illegal migrants"), a kind ("loaded" or "neutral") and the phrases that
count as using it ("illegal migrant", "illegal immigrants", ...). An item uses a term when any
phrase occurs in its title, summary or text as whole words, in any case, with any spaces or
punctuation between the words. Staff list the variants themselves: no stemming, so "swarm" does
not quietly count "swarmed".
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from briefing.errors import UsageError

KINDS = ("loaded", "neutral")
MAX_PHRASES = 20
MAX_PHRASE_CHARS = 80


@dataclass(frozen=True, slots=True)
class Term:
    id: int
    label: str
    kind: str
    phrases: tuple[str, ...]


# Punctuation (ASCII and the typographic kinds news text uses) becomes a space.
_PUNCTUATION = str.maketrans(
    {c: " " for c in string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00ab\u00bb"}
)


def words(text: str) -> str:
    """Lower-case words separated by single spaces, with a space at each end: a phrase is in
    a text, as whole words, exactly when `" a phrase "` is a substring of this. Translating
    and splitting runs in C, many times faster than a regex over every term."""
    return " " + " ".join(text.lower().translate(_PUNCTUATION).split()) + " "


Needles = list[tuple[int, tuple[str, ...]]]  # term id, its phrases as `words` spells them


def needles(terms: list[Term]) -> Needles:
    return [(term.id, tuple(words(phrase) for phrase in term.phrases)) for term in terms]


def used_terms(text: str, wanted: Needles) -> set[int]:
    found = words(text)
    return {term_id for term_id, phrases in wanted if any(p in found for p in phrases)}


def parse_phrases(raw: str) -> tuple[str, ...]:
    """Phrases typed one per line or separated by commas, tidied and de-duplicated."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,\n]", raw):
        phrase = " ".join(part.replace("\u2019", "'").split()).lower()
        if not phrase:
            continue
        if len(phrase) > MAX_PHRASE_CHARS:
            raise UsageError(f"a phrase is longer than {MAX_PHRASE_CHARS} characters")
        if not re.search(r"\w", phrase):
            raise UsageError(f"{phrase!r} has no letters or digits")
        seen.setdefault(phrase)
    if not seen:
        raise UsageError("give at least one phrase")
    if len(seen) > MAX_PHRASES:
        raise UsageError(f"at most {MAX_PHRASES} phrases per term")
    return tuple(seen)


def validate(label: str, kind: str) -> tuple[str, str]:
    label = " ".join(label.split())
    if not label or len(label) > 100:
        raise UsageError("a term needs a label of 1 to 100 characters")
    if kind not in KINDS:
        raise UsageError(f"kind must be one of {', '.join(KINDS)}")
    return label, kind
