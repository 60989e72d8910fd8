"""Which PostgreSQL group role each function's IAM database user belongs to, and the step that
makes the database say so.

The roles themselves and their table privileges are made by a migration
(migrations/versions/0006_app_roles.py): `focus_writer` reads and writes rows, `focus_reader`
only reads. Membership follows the registry: a function with `sql_read_only` is a reader, every
other SQL function a writer. Terraform creates one IAM database user per SQL function
(infra/modules/cloudsql); `focusctl mirror grant-roles` runs `converge` after each migration,
granting what the registry says and revoking every other membership of the two roles, so a
function removed from the registry, or made read-only, loses its access on the next deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from shared import registry

if TYPE_CHECKING:
    from sqlalchemy import Connection

WRITER = "focus_writer"
READER = "focus_reader"
GROUP_ROLES = (WRITER, READER)


def role_of(fn: registry.Function) -> str | None:
    """The group role of a function's database user; None for a function without SQL."""
    if registry.SQL_INSTANCE_USER not in fn.roles:
        return None
    return READER if fn.sql_read_only else WRITER


def iam_user(fn: registry.Function, project_id: str) -> str:
    """Cloud SQL's name for the function's IAM user: its service account email without
    `.gserviceaccount.com` (the account is `fn-<lowercased name>`, infra/modules/functions)."""
    return f"fn-{fn.name.lower()}@{project_id}.iam"


def wanted_members(project_id: str) -> dict[str, str]:
    """IAM database user => group role, for every SQL function of the registry."""
    wanted: dict[str, str] = {}
    for fn in registry.FUNCTIONS:
        role = role_of(fn)
        if role is not None:
            wanted[iam_user(fn, project_id)] = role
    return wanted


def converge(conn: Connection, wanted: Mapping[str, str]) -> list[str]:
    """Make the members of the group roles exactly `wanted` (user => role); what was done.

    A wanted user that does not exist yet is reported, not created: Terraform creates IAM
    users (a password user made here would be a way in that nobody reviews).
    """
    from sqlalchemy import text

    unknown = set(wanted.values()) - set(GROUP_ROLES)
    if unknown:
        raise ValueError(f"not a group role: {sorted(unknown)}")
    quote = conn.dialect.identifier_preparer.quote
    current = {
        (str(member), str(group))
        for member, group in conn.execute(
            text(
                "SELECT m.rolname, g.rolname FROM pg_auth_members a "
                "JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid "
                "WHERE g.rolname = ANY(:groups)"
            ),
            {"groups": list(GROUP_ROLES)},
        )
    }
    existing = {
        str(name)
        for (name,) in conn.execute(
            text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:names)"),
            {"names": list(wanted)},
        )
    }
    done: list[str] = []
    for member, group in sorted(current):
        if wanted.get(member) != group:
            conn.execute(text(f"REVOKE {quote(group)} FROM {quote(member)}"))
            done.append(f"revoked {group} from {member}")
    for member, group in sorted(wanted.items()):
        if member not in existing:
            done.append(f"missing user {member} (created by Terraform)")
        elif (member, group) not in current:
            conn.execute(text(f"GRANT {quote(group)} TO {quote(member)}"))
            done.append(f"granted {group} to {member}")
    return done
