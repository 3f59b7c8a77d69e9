"""feed scheduling and article images

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:47:27.832465
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("interval_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("last_full_fetch_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_http_status", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_latency_ms", sa.Integer(), nullable=True))

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_url", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_items_guid"), ["guid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_guid"))
        batch_op.drop_column("image_url")

    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("last_latency_ms")
        batch_op.drop_column("last_http_status")
        batch_op.drop_column("last_full_fetch_at")
        batch_op.drop_column("interval_seconds")
