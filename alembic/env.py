"""Alembic environment: migrations run against briefing's own engine set-up."""

from __future__ import annotations

from typing import Any

from alembic import context
from briefing.config.settings import load_settings
from briefing.db.engine import make_engine
from briefing.db.models import Base, UTCDateTime, is_hand_made


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations stay independent of the model code: UTCDateTime is a DateTime on disk.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return not is_hand_made(name)  # full-text objects live in hand-written migrations


config = context.config
url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
engine = make_engine(url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite can only ALTER by copying tables
        compare_type=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
