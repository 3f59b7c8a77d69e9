"""the archive: full-text search, daily roll-ups for the trend figures, the language tracker

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 12:00:00

SQLite gets an external-content FTS5 table kept in step with `items` by triggers; PostgreSQL
a stored generated tsvector column (title weighted above summary above full text) with a
GIN index. The roll-up tables start empty: `briefing db upgrade` fills them from the items.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FTS = [
    """CREATE VIRTUAL TABLE items_fts USING fts5(
        title, summary, full_text,
        content='items', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
        INSERT INTO items_fts(rowid, title, summary, full_text)
        VALUES (new.id, new.title, new.summary, coalesce(new.full_text, ''));
    END""",
    """CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        INSERT INTO items_fts(items_fts, rowid, title, summary, full_text)
        VALUES ('delete', old.id, old.title, old.summary, coalesce(old.full_text, ''));
    END""",
    """CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary, full_text ON items BEGIN
        INSERT INTO items_fts(items_fts, rowid, title, summary, full_text)
        VALUES ('delete', old.id, old.title, old.summary, coalesce(old.full_text, ''));
        INSERT INTO items_fts(rowid, title, summary, full_text)
        VALUES (new.id, new.title, new.summary, coalesce(new.full_text, ''));
    END""",
    "INSERT INTO items_fts(items_fts) VALUES ('rebuild')",
]

# Full text is cut at 200,000 characters: a tsvector holds at most 1 MB.
POSTGRES_FTS = [
    """ALTER TABLE items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(summary, '')), 'B')
        || setweight(to_tsvector('english', left(coalesce(full_text, ''), 200000)), 'C')
    ) STORED""",
    "CREATE INDEX ix_items_search_vector ON items USING gin (search_vector)",
]

# Where the language tracker starts; staff edit the list on the stats page.
DEFAULT_TERMS = [
    (
        "illegal migrants",
        "loaded",
        [
            "illegal migrant",
            "illegal migrants",
            "illegal immigrant",
            "illegal immigrants",
            "illegals",
        ],
    ),
    ("invasion", "loaded", ["invasion", "invaders"]),
    ("swarm", "loaded", ["swarm", "swarms", "swarming"]),
    (
        "bogus asylum seekers",
        "loaded",
        ["bogus asylum seeker", "bogus asylum seekers", "bogus refugees"],
    ),
    (
        "flood of migrants",
        "loaded",
        ["flood of migrants", "flood of asylum seekers", "influx of migrants"],
    ),
    ("migrant crisis", "loaded", ["migrant crisis", "migration crisis"]),
    ("people seeking asylum", "neutral", ["people seeking asylum", "person seeking asylum"]),
    ("refugees", "neutral", ["refugee", "refugees"]),
    ("asylum seekers", "neutral", ["asylum seeker", "asylum seekers"]),
    (
        "irregular migration",
        "neutral",
        [
            "irregular migration",
            "irregular migrants",
            "undocumented migrants",
            "undocumented people",
        ],
    ),
]


def upgrade() -> None:
    op.create_index("ix_edition_entries_item_id", "edition_entries", ["item_id"])
    op.create_index("ix_edition_entries_story_id", "edition_entries", ["story_id"])
    op.create_index("ix_item_labels_segment", "item_labels", ["segment", "item_id"])
    op.create_table(
        "archive_counts",
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dim", "topic", "day", "key", name=op.f("pk_archive_counts")),
        sqlite_with_rowid=False,  # clustered by its key: a figure reads one contiguous range
    )
    op.create_table(
        "archive_feed_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("feeds", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outlet_id"],
            ["outlets.id"],
            name=op.f("fk_archive_feed_days_outlet_id_outlets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("day", "outlet_id", name=op.f("pk_archive_feed_days")),
        sqlite_with_rowid=False,
    )
    terms = op.create_table(
        "tracked_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("phrases", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_terms")),
        sa.UniqueConstraint("label", name=op.f("uq_tracked_terms_label")),
    )
    op.create_table(
        "archive_term_counts",
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["term_id"],
            ["tracked_terms.id"],
            name=op.f("fk_archive_term_counts_term_id_tracked_terms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("term_id", "day", "segment", name=op.f("pk_archive_term_counts")),
        sqlite_with_rowid=False,
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        terms,
        [
            {
                "label": label,
                "kind": kind,
                "phrases": phrases,
                "created_at": now,
                "updated_at": now,
                "counted_at": None,
            }
            for label, kind, phrases in DEFAULT_TERMS
        ],
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == "sqlite" else POSTGRES_FTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS items_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS items_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_items_search_vector")
        op.execute("ALTER TABLE items DROP COLUMN IF EXISTS search_vector")
    op.drop_table("archive_term_counts")
    op.drop_table("tracked_terms")
    op.drop_table("archive_feed_days")
    op.drop_table("archive_counts")
    op.drop_index("ix_item_labels_segment", table_name="item_labels")
    op.drop_index("ix_edition_entries_story_id", table_name="edition_entries")
    op.drop_index("ix_edition_entries_item_id", table_name="edition_entries")
