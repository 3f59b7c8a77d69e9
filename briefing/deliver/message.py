"""The MIME message for an edition (pure)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from briefing.compose.render import RenderedEmail

FALLBACK_DOMAIN = "briefing.invalid"


def message_id(day: date, html: str, from_address: str) -> str:
    """Deterministic per edition and content, so a copy of it can always be recognised."""
    domain = from_address.rpartition("@")[2] or FALLBACK_DOMAIN
    digest = hashlib.sha256(html.encode("utf-8")).hexdigest()[:12]
    return f"<briefing-{day.isoformat()}-{digest}@{domain}>"


def build_message(
    day: date,
    email: RenderedEmail,
    *,
    from_address: str,
    to_address: str,
    now: datetime,
    reply_to: str = "",
) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = from_address or f"briefing@{FALLBACK_DOMAIN}"
    message["To"] = to_address or f"list@{FALLBACK_DOMAIN}"
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(day, email.html, from_address)
    message["X-Briefing-Edition"] = day.isoformat()
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message
