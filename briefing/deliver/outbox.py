"""Write an edition to a folder instead of sending it (I/O): the demo's and a dry run's outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path

from briefing.compose.render import RenderedEmail
from briefing.errors import DeliveryError


@dataclass(frozen=True, slots=True)
class OutboxFiles:
    html: Path
    text: Path
    eml: Path


def write_outbox(
    folder: Path, day: date, email: RenderedEmail, message: EmailMessage
) -> OutboxFiles:
    stem = folder / f"briefing-{day.isoformat()}"
    files = OutboxFiles(
        stem.with_suffix(".html"), stem.with_suffix(".txt"), stem.with_suffix(".eml")
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        files.html.write_text(email.html, encoding="utf-8")
        files.text.write_text(email.text, encoding="utf-8")
        files.eml.write_bytes(message.as_bytes())
    except OSError as e:
        raise DeliveryError(f"cannot write to the outbox {folder}") from e
    return files
