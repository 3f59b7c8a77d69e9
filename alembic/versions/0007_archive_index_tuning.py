"""the archive at a million items: a "made the briefing" flag and indexes for date ranges
and for recounting a day

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 08:00:00

- `item_labels.sent` (with an index by item) lets a search that asks what made the briefing
  walk those items alone; the roll-up refresh keeps it, and this fills it from the sent
  editions (an item made the briefing if it, or another report of its story, was a sent
  entry that was not removed).
- `items(published_at, id)` replaces the index on `published_at` alone, so the lowest and
  highest id of a date range are read from the index without visiting the table.
- `archive_counts(day)` lets a day's recount delete its rows by day: the primary key starts
  with the dimension, so without it every recount scanned the whole table.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENT_ENTRIES = (
    "SELECT e.{0} FROM edition_entries e JOIN editions ed ON ed.id = e.edition_id "
    "WHERE ed.status = 'sent' AND NOT e.removed AND e.{0} IS NOT NULL"
)


def upgrade() -> None:
    op.add_column(
        "item_labels", sa.Column("sent", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.execute(
        "UPDATE item_labels SET sent = true WHERE item_id IN (SELECT id FROM items WHERE "
        f"id IN ({SENT_ENTRIES.format('item_id')}) "
        f"OR story_id IN ({SENT_ENTRIES.format('story_id')}))"
    )
    op.create_index("ix_item_labels_sent", "item_labels", ["sent", "item_id"])
    op.create_index("ix_items_published_id", "items", ["published_at", "id"])
    op.drop_index("ix_items_published_at", table_name="items")
    op.create_index("ix_archive_counts_day", "archive_counts", ["day"])


def downgrade() -> None:
    op.drop_index("ix_archive_counts_day", table_name="archive_counts")
    op.create_index("ix_items_published_at", "items", ["published_at"])
    op.drop_index("ix_items_published_id", table_name="items")
    op.drop_index("ix_item_labels_sent", table_name="item_labels")
    with op.batch_alter_table("item_labels") as batch:
        batch.drop_column("sent")
