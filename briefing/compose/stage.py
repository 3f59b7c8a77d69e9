"""The compose stage (I/O shell): the edition's entries -> Draft -> rendered email, stored."""

from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy import Engine

from briefing.compose.context import Draft
from briefing.compose.render import RenderedEmail, render_email
from briefing.config.taxonomy import Taxonomy
from briefing.db.editions import find_edition, load_draft
from briefing.db.engine import session_scope


def run_compose(
    engine: Engine, taxonomy: Taxonomy, day: date, list_address: str
) -> tuple[Draft, RenderedEmail]:
    """Render the edition's email from its entries and store it with the edition."""
    with session_scope(engine) as session:
        edition = find_edition(session, day, list_address)
        draft = load_draft(session, edition, taxonomy)
        email = render_email(draft, list_address)
        edition.subject, edition.html, edition.text = email.subject, email.html, email.text
        edition.html_sha256 = hashlib.sha256(email.html.encode("utf-8")).hexdigest()
    return draft, email
