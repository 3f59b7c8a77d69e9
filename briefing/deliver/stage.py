"""The deliver stage (I/O): an edition to the list exactly once, or a test copy anywhere.

An edition moves draft -> approved -> sending -> sent | failed | unknown, each step in its
own transaction. Sending begins with a compare-and-set claim, so two processes can never
both send; "sending" lasts one SMTP attempt. A refusal or an unreachable server leaves the
edition as it was, to be tried again until the deadline; a 5xx fails it at once; a
connection lost during the message data, or a sender that died, leaves it "unknown": only
a person (`briefing send --force`) sends it then.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import Engine, select, update

from briefing.compose.render import RenderedEmail
from briefing.db.editions import find_edition
from briefing.db.engine import session_scope
from briefing.db.models import Edition, EditionStatus
from briefing.deliver.alerts import AlertMail, raise_alert
from briefing.deliver.message import build_message
from briefing.deliver.smtp import (
    OutcomeUnknownError,
    PermanentSendError,
    SmtpServer,
    TransientSendError,
    transmit,
)
from briefing.errors import DeliveryError, UsageError

log = logging.getLogger("briefing.deliver")

# One SMTP attempt cannot take longer than this (connect, session and data timeouts), so an
# edition left "sending" for longer lost its sender.
SENDING_TIMEOUT = timedelta(minutes=10)
BACKOFF = (30.0, 60.0, 120.0, 300.0, 600.0)  # seconds between attempts, the last repeated


@dataclass(frozen=True, slots=True)
class Mail:
    server: SmtpServer
    from_address: str
    list_address: str
    reply_to: str
    alerts: AlertMail


@dataclass(frozen=True, slots=True)
class SendOutcome:
    day: date
    message_id: str
    attempts: int
    reply: str


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _sender_is_gone(sending_by: str | None) -> bool:
    host, _, pid = (sending_by or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's process: only the timeout can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover_orphans(engine: Engine, mail: Mail, now: datetime) -> list[date]:
    """Editions whose sender died mid-send become "unknown", with an alert; never resent."""
    with session_scope(engine) as session:
        stuck = session.scalars(
            select(Edition).where(
                Edition.status == EditionStatus.SENDING,
                Edition.list_address == mail.list_address,
            )
        ).all()
        orphans = [
            e
            for e in stuck
            if _sender_is_gone(e.sending_by)
            or (e.sending_started_at and now - e.sending_started_at > SENDING_TIMEOUT)
        ]
        for edition in orphans:
            edition.status = EditionStatus.UNKNOWN
            edition.error = f"the sending process ({edition.sending_by}) stopped mid-send"
        found = [(e.edition_date, e.message_id or "") for e in orphans]
    for day, message_id in found:
        _alert_unknown(engine, mail, day, message_id, "the process sending it stopped", now)
    return [day for day, _ in found]


def _alert_unknown(
    engine: Engine, mail: Mail, day: date, message_id: str, why: str, now: datetime
) -> None:
    raise_alert(
        engine,
        mail.alerts,
        "send-unknown",
        day.isoformat(),
        f"the {day} edition may or may not have reached {mail.list_address}",
        f"{why.capitalize()}. It has not been resent. Look in the group's archive (or a "
        f"member's inbox) for Message-ID {message_id}. If it is not there, send it with "
        f"`briefing send --edition {day} --force`.",
        now,
    )


def _claim(
    engine: Engine, mail: Mail, day: date, now: datetime, *, allow_draft: bool, force: bool
) -> tuple[EmailMessage, str]:
    """Mark the edition "sending" if nobody else has; returns the message and the status to
    go back to if this attempt transmits nothing."""
    with session_scope(engine) as session:
        edition = find_edition(session, day, mail.list_address)
        status = edition.status
        if status == EditionStatus.SENT:
            raise UsageError(
                f"the {day} edition was sent at {edition.sent_at:%Y-%m-%d %H:%M} UTC; "
                "it is never sent twice (`--to ADDRESS` sends a test copy)"
            )
        if status == EditionStatus.SENDING:
            raise DeliveryError(f"the {day} edition is being sent by {edition.sending_by}")
        if status == EditionStatus.UNKNOWN and not force:
            raise DeliveryError(
                f"the {day} edition may already have reached the list (Message-ID "
                f"{edition.message_id}); check the group's archive, then "
                f"`briefing send --edition {day} --force` if it is not there"
            )
        if status == EditionStatus.DRAFT and not (allow_draft or force):
            raise UsageError(f"the {day} edition is a draft and auto_send is off: approve it first")
        if not edition.html:
            raise UsageError(f"the {day} edition has no email yet: run `briefing compose`")
        message = build_message(
            day,
            RenderedEmail(edition.subject, edition.html, edition.text),
            from_address=mail.from_address,
            to_address=mail.list_address,
            reply_to=mail.reply_to,
            now=now,
        )
        claimed = session.execute(
            update(Edition)
            .where(Edition.id == edition.id, Edition.status == status)
            .where(Edition.version == edition.version)
            .values(
                status=EditionStatus.SENDING,
                sending_started_at=now,
                sending_by=this_process(),
                message_id=message["Message-ID"],
                message=message.as_string(),
                send_attempts=Edition.send_attempts + 1,
                version=Edition.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise DeliveryError(f"another process claimed the {day} edition first")
    return message, status


def _finish(engine: Engine, day: date, list_address: str, **values: object) -> None:
    with session_scope(engine) as session:
        edition = find_edition(session, day, list_address)
        for name, value in values.items():
            setattr(edition, name, value)
        edition.sending_by = None


def send_edition(
    engine: Engine,
    mail: Mail,
    day: date,
    *,
    deadline: datetime,
    allow_draft: bool,
    force: bool = False,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
    backoff: tuple[float, ...] = BACKOFF,
) -> SendOutcome:
    """Send the day's edition to the list, retrying what can be retried until `deadline`."""
    recover_orphans(engine, mail, clock())
    attempt = 0
    while True:
        now = clock()
        message, status_before = _claim(
            engine, mail, day, now, allow_draft=allow_draft, force=force
        )
        message_id = str(message["Message-ID"])
        attempt += 1
        try:
            reply = transmit(mail.server, message, mail.from_address, [mail.list_address])
        except TransientSendError as e:
            wait = backoff[min(attempt - 1, len(backoff) - 1)]
            if clock() + timedelta(seconds=wait) > deadline:
                _finish(engine, day, mail.list_address, status=EditionStatus.FAILED, error=str(e))
                _alert_failed(engine, mail, day, f"{e}; gave up at the deadline", clock())
                raise DeliveryError(f"the {day} edition was not sent: {e}") from e
            _finish(engine, day, mail.list_address, status=status_before, error=str(e))
            log.warning("send of %s: %s; trying again in %.0f s", day, e, wait)
            sleep(wait)
            continue
        except PermanentSendError as e:
            _finish(engine, day, mail.list_address, status=EditionStatus.FAILED, error=str(e))
            _alert_failed(engine, mail, day, str(e), clock())
            raise DeliveryError(f"the {day} edition was not sent: {e}") from e
        except OutcomeUnknownError as e:
            _finish(engine, day, mail.list_address, status=EditionStatus.UNKNOWN, error=str(e))
            _alert_unknown(engine, mail, day, message_id, str(e), clock())
            raise DeliveryError(
                f"the {day} edition may or may not have been sent ({e}); it will not be "
                f"resent by itself: look for Message-ID {message_id} in the group's archive"
            ) from e
        _finish(
            engine,
            day,
            mail.list_address,
            status=EditionStatus.SENT,
            sent_at=clock(),
            smtp_reply=reply,
            error=None,
        )
        log.info("sent the %s edition to %s: %s", day, mail.list_address, reply)
        return SendOutcome(day, message_id, attempt, reply)


def _alert_failed(engine: Engine, mail: Mail, day: date, why: str, now: datetime) -> None:
    raise_alert(
        engine,
        mail.alerts,
        "send-failed",
        day.isoformat(),
        f"the {day} edition was not sent to {mail.list_address}",
        f"{why}. Nothing reached the list. Fix the cause (the mail server's settings, "
        f"the sender's permission to post), then run `briefing send --edition {day}`.",
        now,
    )


def send_test_copy(engine: Engine, mail: Mail, day: date, to: str, now: datetime) -> str:
    """The edition as it stands, to one address; the edition's state does not change."""
    with session_scope(engine, write=False) as session:
        edition = find_edition(session, day, mail.list_address)
        if not edition.html:
            raise UsageError(f"the {day} edition has no email yet: run `briefing compose`")
        email = RenderedEmail(f"[Test] {edition.subject}", edition.html, edition.text)
    message = build_message(
        day, email, from_address=mail.from_address, to_address=to, reply_to=mail.reply_to, now=now
    )
    domain = mail.from_address.rpartition("@")[2] or "briefing.invalid"
    message.replace_header("Message-ID", make_msgid(f"briefing-test-{day}", domain=domain))
    try:
        return transmit(mail.server, message, mail.from_address, [to])
    except (TransientSendError, PermanentSendError, OutcomeUnknownError) as e:
        raise DeliveryError(f"the test copy to {to} was not sent") from e


def stored_message(engine: Engine, day: date, list_address: str) -> EmailMessage | None:
    """The message as it went to the list (or was last tried)."""
    with session_scope(engine, write=False) as session:
        raw = find_edition(session, day, list_address).message
    if not raw:
        return None
    parsed = message_from_string(raw, policy=policy.SMTP)
    assert isinstance(parsed, EmailMessage)
    return parsed
