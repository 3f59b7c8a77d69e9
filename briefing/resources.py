"""Where bundled data lives: in the wheel (briefing/_data) or at the checkout's top level."""

from __future__ import annotations

from pathlib import Path

_WHEEL_DATA = Path(__file__).resolve().parent / "_data"
_CHECKOUT = Path(__file__).resolve().parent.parent


def data_path(name: str) -> Path:
    """Path of a bundled file or folder such as "sources.yaml" or "templates/email"."""
    for base in (_WHEEL_DATA, _CHECKOUT):
        if (base / name).exists():
            return base / name
    raise FileNotFoundError(f"bundled data not found: {name}")
