"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd), whose replies a test can script."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    """What the server received, and how it answers the next messages' data."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    # Replies to the next DATA commands, in order: "250 ..." accepts, "451 ..."/"550 ..."
    # refuse, "drop" closes the connection without a word; when empty, accept.
    script: list[str] = field(default_factory=list)
    data_seen: threading.Event = field(default_factory=threading.Event)
    hold: threading.Event | None = None  # set: answer DATA only once this is set
    delay: float = 0.0  # seconds before answering DATA

    def handle(self, server: Any, envelope: Any) -> str:
        self.data_seen.set()
        if self.hold is not None:
            self.hold.wait(30)
        if self.delay:
            threading.Event().wait(self.delay)
        reply = self.script.pop(0) if self.script else "250 2.0.0 OK queued"
        if reply == "drop":
            server.transport.abort()  # at once, as a dropped connection: nothing flushed
            return "250 2.0.0 never heard"
        if reply.startswith("250"):
            parsed = message_from_bytes(envelope.content, policy=policy.SMTP)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(parsed)
            self.recipients.append(list(envelope.rcpt_tos))
        return reply


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # Blocking is fine: each test talks to its server over one connection at a time,
        # and a held answer is what the test wants.
        return self.box.handle(server, envelope)


@contextmanager
def smtp_server(
    port: int | None = None, box: Mailbox | None = None, **server: Any
) -> Iterator[Mailbox]:
    """`server`: aiosmtpd's options, e.g. tls_context and require_starttls, or ssl_context
    for TLS from the first byte, auth_required and authenticator."""
    box = box or Mailbox(port or free_port())
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=box.port, **server)
    controller.start()
    try:
        yield box
    finally:
        if box.hold is not None:
            box.hold.set()
        controller.stop()
