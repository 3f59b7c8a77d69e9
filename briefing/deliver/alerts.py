"""Alerts to staff: recorded once per kind and key, logged, and emailed when an address is set
(I/O)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import Engine, select

from briefing.db.engine import session_scope
from briefing.db.models import Alert
from briefing.deliver.smtp import SmtpServer, transmit
from briefing.errors import DeliveryError

log = logging.getLogger("briefing.alerts")


@dataclass(frozen=True, slots=True)
class AlertMail:
    server: SmtpServer
    from_address: str
    to_address: str  # empty: alerts are only logged and stored


def raise_alert(
    engine: Engine, mail: AlertMail, kind: str, key: str, subject: str, body: str, now: datetime
) -> bool:
    """Tell staff, unless this alert (kind and key, e.g. "send-unknown", "2026-03-10") was
    raised before. Returns whether it is new. An alert that cannot be emailed is still
    logged and stored."""
    with session_scope(engine) as session:
        if session.scalar(select(Alert.id).where(Alert.kind == kind, Alert.key == key)):
            return False
        alert = Alert(kind=kind, key=key, subject=subject, body=body, created_at=now)
        session.add(alert)
    log.error("alert %s (%s): %s. %s", kind, key, subject, body)
    if not mail.to_address:
        return True
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = mail.from_address
    message["To"] = mail.to_address
    message["Subject"] = f"[briefing alert] {subject}"
    message["Date"] = format_datetime(now)
    domain = mail.from_address.rpartition("@")[2] or "briefing.invalid"
    message["Message-ID"] = make_msgid("briefing-alert", domain=domain)
    message.set_content(body + "\n")
    try:
        transmit(mail.server, message, mail.from_address, [mail.to_address])
    except DeliveryError as e:
        log.error("alert %s (%s) could not be emailed to %s: %s", kind, key, mail.to_address, e)
        return True
    with session_scope(engine) as session:
        stored = session.scalar(select(Alert).where(Alert.kind == kind, Alert.key == key))
        if stored is not None:
            stored.emailed = True
    return True
