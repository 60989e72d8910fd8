"""Group roles for the functions' IAM database users: `focus_writer` and `focus_reader`.

Cloud SQL's IAM users start with no privileges. The functions get theirs through one of two
NOLOGIN group roles: `focus_writer` reads and writes rows of the application tables (what the
mirror and the SQL-owned collections do) and nothing else: no DDL, no TRUNCATE, no writes to
`alembic_version`; `focus_reader` only reads them. Default privileges give tables created by
later migrations (run by the same migrator) the same grants. Which function belongs to which
role is the registry's (`shared.sql.roles`) and is applied by `focusctl mirror grant-roles`
after each migration, not here: functions come and go without a schema change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (a migration never follows later edits); tests check they match shared.sql.roles.
WRITER = "focus_writer"
READER = "focus_reader"
_WRITES = "SELECT, INSERT, UPDATE, DELETE"


def upgrade() -> None:
    # Roles are cluster-wide: another database of the same cluster may have made them already.
    for role in (WRITER, READER):
        op.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {role} NOLOGIN; END IF; END $$"
        )
    # PostgreSQL 15 already keeps PUBLIC from creating in `public`; said again so that an
    # instance upgraded from an older major version is the same.
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {WRITER}, {READER}")
    op.execute(f"GRANT {_WRITES} ON ALL TABLES IN SCHEMA public TO {WRITER}")
    op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {WRITER}")
    # The schema's version is the migrator's alone.
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {WRITER}")
    # Tables and sequences the migrator creates later get the same grants.
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {_WRITES} ON TABLES TO {WRITER}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {READER}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {WRITER}"
    )


def downgrade() -> None:
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {WRITER}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {READER}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {WRITER}")
    for role in (WRITER, READER):
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE ALL ON SCHEMA public FROM {role}")
    # The roles stay: other databases of the cluster may still use them, and dropping a role
    # that members were granted would silently take their access away.
