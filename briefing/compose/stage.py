"""The compose stage (I/O shell): the edition's entries -> Draft -> rendered email, stored."""

from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy import Engine

from briefing.compose.context import Draft
from briefing.compose.render import SIZE_BUDGET, RenderedEmail, render_email
from briefing.config.taxonomy import Taxonomy
from briefing.db.editions import SIZE_REASON, find_edition, load_draft
from briefing.db.engine import session_scope


def run_compose(
    engine: Engine, taxonomy: Taxonomy, day: date, list_address: str, budget: int = SIZE_BUDGET
) -> tuple[Draft, RenderedEmail]:
    """Render the edition's email from its entries and store it with the edition.

    When the HTML is over the size budget, the lowest-scored entries are left out (marked
    removed for size, so the draft says so) until it fits; each compose starts afresh."""
    with session_scope(engine) as session:
        edition = find_edition(session, day, list_address)
        for entry in edition.entries:
            if entry.removed_reason == SIZE_REASON:
                entry.removed, entry.removed_reason = False, None
        edition.dropped_for_size = 0
        draft = load_draft(session, edition, taxonomy)
        email = render_email(draft, list_address)
        while email.html_bytes > budget and draft.entries:
            # Estimate how many entries to drop from the average size of one, then check.
            excess = email.html_bytes - budget
            count = max(1, -(-excess * len(draft.entries) // email.html_bytes))
            shown = [e for e in edition.entries if not e.removed]
            for entry in sorted(shown, key=lambda e: (e.score, e.position))[:count]:
                entry.removed, entry.removed_reason = True, SIZE_REASON
                edition.dropped_for_size += 1
            draft = load_draft(session, edition, taxonomy)
            email = render_email(draft, list_address)
        edition.subject, edition.html, edition.text = email.subject, email.html, email.text
        edition.html_sha256 = hashlib.sha256(email.html.encode("utf-8")).hexdigest()
    return draft, email
