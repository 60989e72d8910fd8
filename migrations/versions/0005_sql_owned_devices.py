"""Devices owned by SQL (`sql_only`): their FCM tokens, push bookkeeping and the token index.

Devices move all at once (`focusctl mirror take-over-devices`), because registering a device
moves its token away from any other device of any user through one global index. Until then
these columns stay empty: the mirror never carries tokens. `fcm_tokens` is the SQL twin of the
Firestore `fcmTokens` index (one owner per token, keyed by sha256 of the token).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("fcm_token", sa.Text(), nullable=True))
    op.add_column(
        "devices", sa.Column("token_updated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "devices",
        sa.Column("push_state", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_table(
        "fcm_tokens",
        sa.Column("token_id", sa.Text(collation="C"), nullable=False),
        sa.Column("user_id", sa.Text(collation="C"), nullable=False),
        sa.Column("device_id", sa.Text(collation="C"), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name="pk_fcm_tokens"),
    )
    op.create_index("ix_fcm_tokens_user_id", "fcm_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_fcm_tokens_user_id", table_name="fcm_tokens")
    op.drop_table("fcm_tokens")
    op.drop_column("devices", "push_state")
    op.drop_column("devices", "token_updated_at")
    op.drop_column("devices", "fcm_token")
