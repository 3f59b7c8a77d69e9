"""the editor's choice of lead link, and "send now" requests

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("edition_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lead_chosen", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("send_requested_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.drop_column("send_requested_at")
    with op.batch_alter_table("edition_entries", schema=None) as batch_op:
        batch_op.drop_column("lead_chosen")
