"""The language tracker's term list (pure): parsing what staff type, and matching it.

A term is a label ("illegal migrants"), a kind ("loaded" or "neutral") and the phrases that
count as using it ("illegal migrant", "illegal immigrants", ...). An item uses a term when any
phrase occurs in its title, summary or text as whole words, in any case, with any spaces or
hyphens between the words. Staff list the variants themselves: no stemming, so "swarm" does
not quietly count "swarmed".
"""

from __future__ import annotations

import re
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

    def pattern(self) -> re.Pattern[str]:
        return phrase_pattern(self.phrases)


def phrase_pattern(phrases: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    alternatives = [
        r"[\s\-]+".join(re.escape(word) for word in phrase.split()) for phrase in phrases
    ]
    # Longest first, so that "illegal migrants" is tried before "illegal migrant".
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def combined_pattern(terms: list[Term]) -> tuple[re.Pattern[str], dict[str, set[int]]]:
    """One pattern that finds every phrase of every term, overlapping ones included (an item
    with "bogus asylum seekers" uses "asylum seekers" too), and which terms each phrase
    (as `normal` spells it) belongs to."""
    term_of: dict[str, set[int]] = {}
    for term in terms:
        for phrase in term.phrases:
            term_of.setdefault(normal(phrase), set()).add(term.id)
    if not term_of:
        return re.compile(r"(?!)()"), term_of
    inner = phrase_pattern(tuple(term_of)).pattern
    return re.compile(r"(?=(" + inner + "))", re.IGNORECASE), term_of


def normal(text: str) -> str:
    return " ".join(re.split(r"[\s\-]+", text.lower().strip()))


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
