"""The scheduled reconcile is a Cloud Scheduler trigger of the Cloud Run jobs, on in every
environment, and the drift alert reads the jobs' logs (read from the .tf text: these are the
few lines that decide it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_every_environment_runs_the_jobs(env: str) -> None:
    main = (INFRA / "environments" / env / "main.tf").read_text()
    assert re.search(r"^\s*jobs\s*=\s*\{\s*image\s*=\s*var\.operator_image\s*\}", main, re.M)
    variables = (INFRA / "environments" / env / "variables.tf").read_text()
    assert 'variable "operator_image"' in variables


def test_the_scheduler_runs_the_incremental_pass_and_a_sample() -> None:
    jobs = (INFRA / "modules" / "jobs" / "main.tf").read_text()
    scheduled = re.search(r"scheduled = \{(.*?)\}", jobs, re.S)
    assert scheduled is not None
    assert re.findall(r'"([\w-]+)"\s*=', scheduled.group(1)) == [
        "reconcile-incremental",
        "reconcile-sample",
    ]
    trigger = 'resource "google_cloud_scheduler_job" "reconcile" {\n  for_each = local.scheduled'
    assert trigger in jobs
    # The incremental job is `reconcile` with neither --all, --sample nor --users; the sample
    # job samples; both log the metric line the alert counts.
    block = re.search(r'"reconcile-incremental" = \{(.*?)\n    \}', jobs, re.S)
    sample = re.search(r'"reconcile-sample" = \{(.*?)\n    \}', jobs, re.S)
    assert block is not None and sample is not None
    assert '"reconcile"' in block.group(1) and "--log-metric" in block.group(1)
    assert not re.search(r"--all|--sample|--users", block.group(1))
    assert "--sample" in sample.group(1) and "--log-metric" in sample.group(1)


def test_a_scheduled_pass_that_reports_drift_exits_0_so_cloud_run_does_not_retry_it() -> None:
    """Cloud Run retries a task on any non-zero exit: each scheduled job logs its drift for the
    alert and exits 0 on it (a failed run still exits non-zero, and is retried)."""
    jobs = (INFRA / "modules" / "jobs" / "main.tf").read_text()
    scheduled = re.search(r"scheduled = \{(.*?)\}", jobs, re.S)
    assert scheduled is not None
    for name in re.findall(r'"([\w-]+)"\s*=', scheduled.group(1)):
        block = re.search(rf'"{name}" = \{{(.*?)\n    \}}', jobs, re.S)
        assert block is not None, name
        args = re.search(r"args = \[(.*?)\]", block.group(1), re.S)
        assert args is not None, name
        assert '"--log-metric"' in args.group(1), name
        assert '"--no-fail-on-drift"' in args.group(1), name


def test_the_drift_alert_reads_the_jobs_logs() -> None:
    monitoring = (INFRA / "modules" / "monitoring" / "main.tf").read_text()
    metric = re.search(
        r'resource "google_logging_metric" "drift_items" \{(.*?)\n\}', monitoring, re.S
    )
    alert = re.search(
        r'resource "google_monitoring_alert_policy" "reconcile_drift" \{(.*?)\n\}', monitoring, re.S
    )
    assert metric is not None and alert is not None
    assert 'resource.type=\\"cloud_run_job\\"' in metric.group(1)
    assert 'jsonPayload.event=\\"mirrorDriftItem\\"' in metric.group(1)
    assert 'resource.type=\\"cloud_run_job\\"' in alert.group(1)


def test_every_deploy_builds_the_operator_image_it_applies() -> None:
    """The jobs run the image built from the deployed commit, by digest: no variable someone
    must remember to update by hand."""
    import yaml

    workflows = INFRA.parent / ".github" / "workflows"
    steps = yaml.safe_load((workflows / "deploy-environment.yml").read_text())["jobs"]["apply"][
        "steps"
    ]
    names = [step.get("name") or step.get("uses") for step in steps]
    build = next(step for step in steps if step.get("id") == "operator-image")
    assert "docker build" in build["run"] and "docker push" in build["run"]
    assert "RepoDigests" in build["run"]  # the digest, not a tag that can move
    apply = next(step for step in steps if step.get("name") == "terraform apply")
    assert names.index(build["name"]) < names.index("terraform apply")
    assert '-var="operator_image=${{ steps.operator-image.outputs.image }}"' in apply["run"]
