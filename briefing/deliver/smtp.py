"""One SMTP submission, with its failure sorted by what it means for a retry (I/O).

What matters is whether the message may have been accepted:
- the server refused with a 4xx code, or could not be reached: nothing was accepted; try again;
- it refused with a 5xx code: nothing was accepted, and trying again will not help;
- the connection failed once the message data had started to go: the server may have
  accepted it; only a person, looking at the group's archive, can tell.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from ipaddress import ip_address
from typing import Literal

from briefing.errors import ConfigError, DeliveryError

CONNECT_TIMEOUT = 30.0  # seconds for each network operation
DATA_TIMEOUT = 120.0  # a large message to a slow server


class TransientSendError(DeliveryError):
    """Nothing was accepted; the same message may be sent again later."""


class PermanentSendError(DeliveryError):
    """The server refused for good (5xx); nothing was accepted."""


class OutcomeUnknownError(DeliveryError):
    """The connection failed after the message data began: it may have been accepted."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    security: Literal["starttls", "tls", "none"]
    username: str = ""
    password: str = ""
    ca_file: str = ""  # certificates to trust instead of the system's (a private relay)

    def __post_init__(self) -> None:
        if self.security == "none" and not _is_loopback(self.host):
            raise ConfigError(
                f"smtp_security=none sends the password and the email in clear text; it is "
                f"allowed only to a server on this machine, not {self.host}"
            )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _tls(server: SmtpServer) -> ssl.SSLContext:
    """Certificates verified and host names checked, always."""
    return ssl.create_default_context(cafile=server.ca_file or None)


def _refused(code: int, reply: bytes | str, step: str) -> DeliveryError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    error = PermanentSendError if 500 <= code < 600 else TransientSendError
    return error(f"the mail server refused {step}: {code} {text}".strip())


def transmit(server: SmtpServer, message: EmailMessage, sender: str, recipients: list[str]) -> str:
    """Send one message; returns the server's final reply (e.g. "250 2.0.0 queued as X")."""
    try:
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(
                server.host,
                server.port,
                timeout=CONNECT_TIMEOUT,
                context=_tls(server),
            )
            if server.security == "tls"
            else smtplib.SMTP(server.host, server.port, timeout=CONNECT_TIMEOUT)
        )
    except (OSError, smtplib.SMTPException) as e:
        raise TransientSendError(f"cannot reach {server.host}:{server.port}") from e
    try:
        try:
            smtp.ehlo()
            if server.security == "starttls":
                smtp.starttls(context=_tls(server))
                smtp.ehlo()
            if server.username:
                smtp.login(server.username, server.password)
            code, reply = smtp.mail(sender)
            if code != 250:
                raise _refused(code, reply, "the sender")
            for recipient in recipients:
                code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    raise _refused(code, reply, f"the recipient {recipient}")
        except smtplib.SMTPResponseException as e:
            raise _refused(e.smtp_code, e.smtp_error, "the session") from e
        except (OSError, smtplib.SMTPException) as e:
            raise TransientSendError(f"the connection to {server.host} failed") from e
        # From here on the server may receive the message: a failure is not a refusal.
        try:
            if smtp.sock is not None:
                smtp.sock.settimeout(DATA_TIMEOUT)
            code, reply = smtp.data(message.as_bytes())
        except smtplib.SMTPResponseException as e:  # an explicit refusal of the data
            raise _refused(e.smtp_code, e.smtp_error, "the message") from e
        except (OSError, smtplib.SMTPException) as e:
            raise OutcomeUnknownError(
                f"the connection to {server.host} failed while the message was being sent"
            ) from e
        if code != 250:  # smtplib returns, not raises, a refusal of the message itself
            raise _refused(code, reply, "the message")
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()  # the message was accepted; a rude goodbye changes nothing
        return f"{code} {reply.decode('utf-8', 'replace')}"
    finally:
        smtp.close()  # after a failure, no polite QUIT: the connection may be half-broken
