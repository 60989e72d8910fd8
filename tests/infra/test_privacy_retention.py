"""docs/PRIVACY.md says how long logs, dead letters and backups are kept; the Terraform in infra/
sets it. This reads both and fails when they disagree, so neither changes alone."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULES = REPO / "infra" / "modules"
PRIVACY = REPO / "docs" / "PRIVACY.md"
DAY_S = 86_400


def _block(path: Path, header: str) -> str:
    """The text of the top-level block that starts with `header` (up to its closing brace)."""
    text = path.read_text()
    match = re.search(rf"^{re.escape(header)} \{{\n(.*?)^\}}", text, re.MULTILINE | re.DOTALL)
    assert match, f"{header} not in {path}"
    return match.group(1)


def _value(text: str, name: str) -> str:
    match = re.search(rf"^\s*{name}\s*=\s*\"?([^\"\s#]+)\"?", text, re.MULTILINE)
    assert match, f"{name} not set"
    return match.group(1)


def _seconds_as_days(duration: str) -> int:
    assert duration.endswith("s"), duration
    seconds = int(duration.removesuffix("s"))
    assert seconds % DAY_S == 0, duration
    return seconds // DAY_S


def _log_bucket_days() -> int:
    bucket = _block(
        MODULES / "project" / "logging.tf",
        'resource "google_logging_project_bucket_config" "default"',
    )
    assert _value(bucket, "bucket_id") == "_Default"
    assert _value(bucket, "retention_days") == "local.log_retention_days"
    return int(_value(_block(MODULES / "project" / "logging.tf", "locals"), "log_retention_days"))


def _dead_letter_days() -> int:
    pull = _block(
        MODULES / "pubsub" / "main.tf", 'resource "google_pubsub_subscription" "dead_letter_pull"'
    )
    assert _value(pull, "retain_acked_messages") == "true"  # "acknowledged ones too"
    return _seconds_as_days(_value(pull, "message_retention_duration"))


def _push_days() -> int:
    push = _block(MODULES / "pubsub" / "main.tf", 'resource "google_pubsub_subscription" "push"')
    return _seconds_as_days(_value(push, "message_retention_duration"))


def _sql_backup() -> str:
    return _block(
        MODULES / "cloudsql" / "main.tf", 'resource "google_sql_database_instance" "main"'
    )


def _sql_backup_days() -> int:
    backup = _sql_backup()
    # Automated backups run daily: a count of N backups is N days.
    assert _value(backup, "retention_unit") == "COUNT"
    return int(_value(backup, "retained_backups"))


def _sql_pitr_days() -> int:
    backup = _sql_backup()
    assert _value(backup, "point_in_time_recovery_enabled") == "true"
    return int(_value(backup, "transaction_log_retention_days"))


def _firestore_backup_days() -> int:
    variable = _block(MODULES / "firestore" / "variables.tf", 'variable "backup_retention"')
    return _seconds_as_days(_value(variable, "default"))


def _firestore_pitr_days() -> int:
    database = _block(
        MODULES / "firestore" / "main.tf", 'resource "google_firestore_database" "main"'
    )
    assert _value(database, "point_in_time_recovery_enablement") == "POINT_IN_TIME_RECOVERY_ENABLED"
    return 7  # Firestore's fixed PITR window


# The first words of a row of PRIVACY.md's "Retention" table => what Terraform says.
TERRAFORM: dict[str, Callable[[], int]] = {
    "request logs": _log_bucket_days,
    "dead letters": _dead_letter_days,
    "undelivered messages": _push_days,
    "Cloud SQL daily backups": _sql_backup_days,
    "Cloud SQL point-in-time": _sql_pitr_days,
    "Firestore weekly backups": _firestore_backup_days,
    "Firestore point-in-time": _firestore_pitr_days,
}


def _documented() -> dict[str, int]:
    """PRIVACY.md's Retention table: first words of each row => its days."""
    text = PRIVACY.read_text()
    section = text.split("### Retention", 1)[1].split("\n**", 1)[0]
    rows: dict[str, int] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not re.fullmatch(r"\d+ days", cells[1]):
            continue
        key = next((k for k in TERRAFORM if cells[0].startswith(k)), None)
        assert key is not None, f"PRIVACY.md retention row without a check: {cells[0]}"
        rows[key] = int(cells[1].split()[0])
    return rows


def test_every_retention_is_documented_once() -> None:
    assert set(_documented()) == set(TERRAFORM)


@pytest.mark.parametrize("kept", sorted(TERRAFORM))
def test_privacy_and_terraform_agree(kept: str) -> None:
    assert _documented()[kept] == TERRAFORM[kept](), kept


def test_the_summary_table_says_the_same_log_retention() -> None:
    row = next(
        line for line in PRIVACY.read_text().splitlines() if line.startswith("| Cloud Logging |")
    )
    assert f"| {_log_bucket_days()} days (" in row, row
