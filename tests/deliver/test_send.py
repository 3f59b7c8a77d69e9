"""Delivery against a real SMTP server on 127.0.0.1: exactly once to the list, whatever fails."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, select

from briefing.db.engine import session_scope
from briefing.db.models import Alert, Edition, EditionStatus
from briefing.deliver.alerts import AlertMail
from briefing.deliver.smtp import PermanentSendError, SmtpServer
from briefing.deliver.stage import Mail, SendOutcome, send_edition, send_test_copy
from briefing.errors import ConfigError, DeliveryError, UsageError
from tests.smtp import Mailbox, free_port, smtp_server

DAY = date(2026, 3, 10)
LIST = "migration-news@groups.example.org"
FROM = "briefing@example.org"
T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def mail_for(port: int, alert_to: str = "") -> Mail:
    server = SmtpServer("127.0.0.1", port, "none")
    return Mail(server, FROM, LIST, "comms@example.org", AlertMail(server, FROM, alert_to))


def add_edition(engine: Engine, status: str = EditionStatus.APPROVED) -> None:
    with session_scope(engine) as session:
        session.add(
            Edition(
                edition_date=DAY,
                list_address=LIST,
                status=status,
                subject="Migration news briefing — Tue 10 Mar 2026: Three die in the Channel",
                html="<html><body><h1>Migration news briefing</h1></body></html>",
                text="MIGRATION NEWS BRIEFING\n",
                window_start=T0 - timedelta(days=1),
                window_end=T0,
            )
        )


def edition(engine: Engine) -> Edition:
    with session_scope(engine, write=False) as session:
        found = session.scalar(select(Edition))
        assert found is not None
        return found


def alerts(engine: Engine) -> list[tuple[str, str]]:
    with session_scope(engine, write=False) as session:
        return [(a.kind, a.key) for a in session.scalars(select(Alert))]


def send(engine: Engine, mail: Mail, **options: object) -> SendOutcome:
    settings: dict[str, object] = {
        "deadline": datetime.now(UTC) + timedelta(seconds=20),
        "allow_draft": False,
        "clock": lambda: datetime.now(UTC),
        "backoff": (0.2,),
    }
    return send_edition(engine, mail, DAY, **(settings | options))  # type: ignore[arg-type]


@pytest.fixture
def box() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


def test_the_approved_edition_reaches_the_list_once_with_its_headers(
    engine: Engine, box: Mailbox
) -> None:
    add_edition(engine)
    outcome = send(engine, mail_for(box.port))
    (message,) = box.messages
    assert box.recipients == [[LIST]]
    assert message["To"] == LIST and message["From"] == FROM
    assert message["Reply-To"] == "comms@example.org"
    assert message["Subject"].startswith("Migration news briefing — Tue 10 Mar 2026")
    assert message["Message-ID"] == outcome.message_id.strip()
    assert message["Message-ID"].startswith("<briefing-2026-03-10-")
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    stored = edition(engine)
    assert stored.status == EditionStatus.SENT and stored.smtp_reply == "250 2.0.0 OK queued"
    assert stored.message and outcome.message_id in stored.message  # kept with the edition
    with pytest.raises(UsageError, match="never sent twice"):
        send(engine, mail_for(box.port))
    assert len(box.messages) == 1


def test_server_down_then_up_delivers_exactly_one(engine: Engine) -> None:
    add_edition(engine)
    port = free_port()  # nothing listens there yet
    result: list[SendOutcome] = []
    sender = threading.Thread(target=lambda: result.append(send(engine, mail_for(port))))
    sender.start()
    time.sleep(1.0)
    with smtp_server(port) as box:
        sender.join(20)
        assert not sender.is_alive()
    assert len(box.messages) == 1
    assert result[0].attempts > 1 and edition(engine).status == EditionStatus.SENT


def test_a_4xx_is_retried_and_a_5xx_fails_fast_with_an_alert(engine: Engine, box: Mailbox) -> None:
    add_edition(engine)
    box.script = ["451 4.3.0 try again later"]
    outcome = send(engine, mail_for(box.port))
    assert outcome.attempts == 2 and len(box.messages) == 1

    other = box.port  # a fresh edition, refused for good
    with session_scope(engine) as session:
        session.execute(Edition.__table__.delete())
    add_edition(engine)
    box.script = ["550 5.7.1 sender not allowed to post"]
    with pytest.raises(DeliveryError, match="550"):
        send(engine, mail_for(other))
    stored = edition(engine)
    assert stored.status == EditionStatus.FAILED and "550" in (stored.error or "")
    assert stored.send_attempts == 1
    assert ("send-failed", "2026-03-10") in alerts(engine)


def test_retries_stop_at_the_deadline_and_alert(engine: Engine, box: Mailbox) -> None:
    add_edition(engine)
    box.script = ["421 4.7.0 busy"] * 50
    with pytest.raises(DeliveryError, match="not sent"):
        send(engine, mail_for(box.port), deadline=datetime.now(UTC) + timedelta(seconds=1))
    assert edition(engine).status == EditionStatus.FAILED and box.messages == []
    assert ("send-failed", "2026-03-10") in alerts(engine)


def test_a_connection_dropped_after_the_data_is_never_resent_by_itself(
    engine: Engine, box: Mailbox
) -> None:
    add_edition(engine)
    box.script = ["drop"]
    with pytest.raises(DeliveryError, match="may or may not"):
        send(engine, mail_for(box.port))
    assert edition(engine).status == EditionStatus.UNKNOWN
    assert ("send-unknown", "2026-03-10") in alerts(engine)
    with pytest.raises(DeliveryError, match="--force"):
        send(engine, mail_for(box.port))
    assert box.messages == []  # the dropped one was never stored; nothing else was sent
    send(engine, mail_for(box.port), force=True)  # a person checked the archive
    assert len(box.messages) == 1


def test_a_draft_goes_out_only_when_auto_send_allows(engine: Engine, box: Mailbox) -> None:
    add_edition(engine, EditionStatus.DRAFT)
    with pytest.raises(UsageError, match="approve it first"):
        send(engine, mail_for(box.port))
    send(engine, mail_for(box.port), allow_draft=True)
    assert len(box.messages) == 1


def test_a_test_copy_leaves_the_edition_alone(engine: Engine, box: Mailbox) -> None:
    add_edition(engine)
    send_test_copy(engine, mail_for(box.port), DAY, "me@example.org", T0)
    (copy,) = box.messages
    assert box.recipients == [["me@example.org"]] and copy["Subject"].startswith("[Test] ")
    assert edition(engine).status == EditionStatus.APPROVED
    send(engine, mail_for(box.port))
    assert box.messages[1]["Message-ID"] != copy["Message-ID"]


def test_alerts_are_emailed_once_per_kind_and_day(engine: Engine, box: Mailbox) -> None:
    add_edition(engine)
    box.script = ["550 5.7.1 no"]
    with pytest.raises(DeliveryError):
        send(engine, mail_for(box.port, alert_to="staff@example.org"))
    (alert,) = box.messages
    assert box.recipients == [["staff@example.org"]]
    assert alert["Subject"] == f"[briefing alert] the {DAY} edition was not sent to {LIST}"
    assert "briefing send --edition 2026-03-10" in alert.get_body().get_content()  # type: ignore[union-attr]


def test_clear_text_smtp_only_to_this_machine() -> None:
    SmtpServer("127.0.0.1", 25, "none")
    with pytest.raises(ConfigError, match="clear text"):
        SmtpServer("smtp.example.org", 25, "none")


# --- whole processes: the command line, two senders at once, a sender killed mid-send --------


def briefing(database_url: str, port: int, *args: str) -> subprocess.Popen[str]:
    env = os.environ | {
        "BRIEFING_DATABASE_URL": database_url,
        "BRIEFING_SMTP_HOST": "127.0.0.1",
        "BRIEFING_SMTP_PORT": str(port),
        "BRIEFING_SMTP_SECURITY": "none",
        "BRIEFING_LIST_ADDRESS": LIST,
        "BRIEFING_FROM_ADDRESS": FROM,
        "BRIEFING_AUTO_SEND": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "briefing", "send", "--edition", DAY.isoformat(), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent,
    )


@pytest.mark.slow
def test_two_send_commands_at_once_deliver_exactly_one(
    database_url: str, engine: Engine, box: Mailbox
) -> None:
    add_edition(engine)
    box.delay = 1.0  # the first holds the edition while the second tries
    first, second = briefing(database_url, box.port), briefing(database_url, box.port)
    results = sorted((p.wait(60), p.communicate()[1]) for p in (first, second))
    assert len(box.messages) == 1
    assert results[0][0] == 0
    assert results[1][0] in (1, 2), results  # "being sent by …" or "was sent at …"
    assert "briefing:" in results[1][1] and "Traceback" not in results[1][1]


@pytest.mark.slow
def test_a_sender_killed_mid_send_is_not_resent_by_a_restart(
    database_url: str, engine: Engine, box: Mailbox
) -> None:
    add_edition(engine)
    box.hold = threading.Event()  # the server takes the data and waits before answering
    doomed = briefing(database_url, box.port)
    assert box.data_seen.wait(30)
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate(timeout=10)  # reaps it and closes its pipes
    box.hold.set()  # the server accepts the message: it did reach the list
    time.sleep(0.2)
    assert len(box.messages) == 1

    restart = briefing(database_url, box.port)
    status, errors = restart.wait(60), restart.communicate()[1]
    assert status == 1 and "--force" in errors, errors
    assert edition(engine).status == EditionStatus.UNKNOWN
    assert ("send-unknown", "2026-03-10") in alerts(engine)
    assert len(box.messages) == 1  # nothing resent


# --- encryption and authentication, with a throwaway certificate authority -----------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return server_context, str(ca_file)


class Accounts:
    """aiosmtpd's authenticator: one account, and a record of who logged in."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(
        self, server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"briefing",
            b"s3cret",
        )
        if ok:
            self.logins.append("briefing")
        return AuthResult(success=ok, handled=False)  # False: aiosmtpd answers 535 itself


def test_starttls_with_a_login_and_the_certificate_checked(
    engine: Engine, tls: tuple[ssl.SSLContext, str]
) -> None:
    context, ca_file = tls
    accounts = Accounts()
    options = {
        "tls_context": context,
        "require_starttls": True,
        "auth_required": True,
        "authenticator": accounts,
    }
    add_edition(engine)
    with smtp_server(**options) as box:
        server = SmtpServer("127.0.0.1", box.port, "starttls", "briefing", "s3cret", ca_file)
        send(engine, replace(mail_for(box.port), server=server))
        assert len(box.messages) == 1 and accounts.logins == ["briefing"]

        unknown_ca = replace(server, ca_file="")  # the system's CAs do not know this server
        with pytest.raises(DeliveryError) as untrusted:
            send_test_copy(engine, replace(mail_for(box.port), server=unknown_ca), DAY, "a@b.c", T0)
        assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted.value.__cause__)
        wrong = replace(server, password="guess")
        with pytest.raises(DeliveryError) as refused:
            send_test_copy(engine, replace(mail_for(box.port), server=wrong), DAY, "a@b.c", T0)
        assert isinstance(refused.value.__cause__, PermanentSendError)
        assert "535" in str(refused.value.__cause__)  # a wrong password is not retried
        assert len(box.messages) == 1


def test_implicit_tls(engine: Engine, tls: tuple[ssl.SSLContext, str]) -> None:
    context, ca_file = tls
    add_edition(engine)
    with smtp_server(ssl_context=context) as box:
        server = SmtpServer("127.0.0.1", box.port, "tls", ca_file=ca_file)
        send(engine, replace(mail_for(box.port), server=server))
        assert len(box.messages) == 1
