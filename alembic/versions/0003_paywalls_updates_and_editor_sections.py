"""paywalled outlets, story updates, editor sections and the size budget

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outlets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paywalled", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dropped_for_size", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("edition_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("editor_section", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("is_update", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("edition_entries", schema=None) as batch_op:
        batch_op.drop_column("is_update")
        batch_op.drop_column("editor_section")
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.drop_column("dropped_for_size")
    with op.batch_alter_table("outlets", schema=None) as batch_op:
        batch_op.drop_column("paywalled")
