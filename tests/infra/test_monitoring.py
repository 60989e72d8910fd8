"""Operations as code: SLOs, alerts, dashboards and runbooks stay in step with the registry.

- every alert policy in infra/ links a runbook that exists and says what a runbook must say;
- every function of the registry has SLOs, burn-rate alerts for each (evaluated by Terraform
  from the real registry, through infra/modules/monitoring/locals.tf), SLI tiles first on its
  area's dashboard, and a runbook for each alert;
- the checked-in dashboards are what the registry renders;
- the monitoring module refuses SLOs it could not turn into a working SLI.

Formatting and checkov cover the new module with the rest of infra/ (test_terraform.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from devstack.dashboards import dashboard, render_dashboards, sli_title
from shared import registry
from tests.infra.test_terraform import _eval_dir, _evaluate_locals, _real_registry, _run_terraform

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
RUNBOOKS = REPO / "docs" / "runbooks"
DASHBOARDS = INFRA / "modules" / "monitoring" / "dashboards"
SECTIONS = (
    "## What it means for users",
    "## First three things to look at",
    "## Mitigation",
    "## Confirm it is over",
)

Json = dict[str, Any]


def _alert_policies() -> list[tuple[Path, str, str]]:
    """(file, name, body) of every google_monitoring_alert_policy in infra/."""
    found = []
    for path in sorted(INFRA.rglob("*.tf")):
        text = path.read_text()
        for match in re.finditer(
            r'^resource "google_monitoring_alert_policy" "(\w+)" \{\n(.*?)^\}',
            text,
            flags=re.DOTALL | re.MULTILINE,
        ):
            found.append((path, match.group(1), match.group(2)))
    return found


def _monitoring_locals(tmp_path: Path, slos: Json) -> Json:
    return _evaluate_locals(tmp_path, "monitoring", {"project_id": "demo-focus", "slos": slos})


@pytest.fixture(scope="module")
def real_locals(tmp_path_factory: pytest.TempPathFactory) -> Json:
    return _monitoring_locals(tmp_path_factory.mktemp("monitoring"), _real_registry()["slos"])


def _runbook_of(body: str, burn_rate_runbooks: set[str]) -> set[str]:
    """The runbooks an alert's documentation links: a literal path, a named entry of
    local.runbook_urls, or (burn-rate alerts) the registry's runbook of each SLO."""
    docs = re.search(r"documentation \{(.*?)\n  \}", body, flags=re.DOTALL)
    assert docs, "no documentation block"
    content = docs.group(1)
    assert "Runbook: " in content
    named = set(re.findall(r"docs/runbooks/([\w-]+)\.md", content))
    named |= set(re.findall(r'local\.runbook_urls\["([\w-]+)"\]', content))
    if "local.runbook_urls[each.value.runbook]" in content:
        named |= burn_rate_runbooks
    return named


def test_every_alert_links_a_runbook_that_exists(real_locals: Json) -> None:
    burn_rate_runbooks = {a["runbook"] for a in real_locals["burn_rate_alerts"].values()}
    linked: set[str] = set()
    policies = _alert_policies()
    assert {name for _, name, _ in policies} >= {
        "dead_letters",
        "burn_rate",
        "reconcile_drift",
        "mirror_backlog",
    }
    for path, name, body in policies:
        runbooks = _runbook_of(body, burn_rate_runbooks)
        assert runbooks, f"{path}: alert {name} links no runbook"
        for runbook in runbooks:
            assert (RUNBOOKS / f"{runbook}.md").is_file(), f"{name}: no docs/runbooks/{runbook}.md"
        linked |= runbooks
    # Every runbook belongs to an alert, and the index lists it.
    index = (RUNBOOKS / "README.md").read_text()
    for path in RUNBOOKS.glob("*.md"):
        if path.name != "README.md":
            assert path.stem in linked, f"{path.name} is no alert's runbook"
            assert f"({path.name})" in index, f"docs/runbooks/README.md does not list {path.name}"


def test_runbooks_say_what_a_runbook_must_say() -> None:
    for path in RUNBOOKS.glob("*.md"):
        if path.name == "README.md":
            continue
        text = path.read_text()
        positions = [text.find(section) for section in SECTIONS]
        assert -1 not in positions, f"{path.name} lacks {SECTIONS[positions.index(-1)]}"
        assert positions == sorted(positions), f"{path.name}: sections out of order"
        first = text[positions[1] : positions[2]]
        # The first three things: a log query, a dashboard and a command anyone can run.
        assert re.search(r"^\s*1\..*^\s*2\..*^\s*3\.", first, flags=re.DOTALL | re.MULTILINE)
        assert "resource.type=" in first or "focusctl" in first, path.name
        assert "Focus: " in first or "dashboard" in first.lower(), path.name


def test_every_function_has_slos_alerts_tiles_and_runbooks(real_locals: Json) -> None:
    alerts = real_locals["burn_rate_alerts"]
    for fn in registry.FUNCTIONS:
        assert fn.slos, f"{fn.name} has no SLO"
        slis = [slo.sli for slo in fn.slos]
        assert len(set(slis)) == len(slis), f"{fn.name}: one SLO per SLI"
        if fn.kind == "callable":
            assert {"availability", "latency"} <= set(slis), fn.name
        tiles = [t["widget"]["title"] for t in _tiles(fn.area)]
        for slo in fn.slos:
            key = registry.slo_key(fn, slo)
            for tier in ("fast", "slow"):
                alert = alerts[f"{key}-{tier}"]
                assert (alert["function"], alert["sli"]) == (fn.name, slo.sli)
                assert (RUNBOOKS / f"{alert['runbook']}.md").is_file()
            assert sli_title(fn, slo) in tiles, f"{fn.name} {slo.sli}: no SLI tile"
        assert any(t.startswith(f"{fn.name} ") for t in tiles), f"{fn.name}: no function tiles"
    assert len(alerts) == 2 * sum(len(fn.slos) for fn in registry.FUNCTIONS)
    # The one mirror consumer with a freshness SLO has its backlog watched.
    assert real_locals["backlog_subscriptions"] == {
        fn.name: registry.subscription_name(fn)
        for fn in registry.FUNCTIONS
        if any(slo.sli == "freshness" for slo in fn.slos)
    }


def _tiles(area: registry.Area) -> list[Json]:
    tiles: list[Json] = json.loads((DASHBOARDS / f"{area}.json").read_text())["mosaicLayout"][
        "tiles"
    ]
    return sorted(tiles, key=lambda t: (t["yPos"], t["xPos"]))


def test_dashboards_show_the_slis_first() -> None:
    for area in ("callables", "sync", "mirror", "pushes"):
        titles = [t["widget"]["title"] for t in _tiles(area) if "xyChart" in t["widget"]]
        slis = [title.startswith("SLI ") for title in titles]
        assert any(slis), area
        assert slis == sorted(slis, reverse=True), f"{area}: a tile comes before the SLIs"


def test_checked_in_dashboards_are_what_the_registry_renders() -> None:
    rendered = render_dashboards()
    assert set(rendered) == {p.stem for p in DASHBOARDS.glob("*.json")}
    for area, text in rendered.items():
        assert (DASHBOARDS / f"{area}.json").read_text() == text, (
            f"infra/modules/monitoring/dashboards/{area}.json is stale: run `make requirements`"
        )


def test_dashboard_tiles_do_not_overlap() -> None:
    for area in ("callables", "sync", "mirror", "pushes"):
        cells: set[tuple[int, int]] = set()
        for tile in dashboard(area)["mosaicLayout"]["tiles"]:
            assert tile["xPos"] + tile["width"] <= 48
            mine = {
                (x, y)
                for x in range(tile["xPos"], tile["xPos"] + tile["width"])
                for y in range(tile["yPos"], tile["yPos"] + tile["height"])
            }
            assert not cells & mine, f"{area}: {tile['widget']['title']} overlaps"
            cells |= mine


def test_burn_rate_thresholds_follow_the_budget_and_period(real_locals: Json) -> None:
    alert = real_locals["burn_rate_alerts"]["syncFocusSessions-availability-fast"]
    # 2 % of a 28-day budget in 1 h: 0.02 x 672 h.
    assert alert["threshold"] == pytest.approx(13.44)
    assert (alert["long_window"], alert["short_window"]) == ("3600s", "300s")
    slow = real_locals["burn_rate_alerts"]["syncFocusSessions-availability-slow"]
    assert slow["threshold"] == pytest.approx(0.05 * 672 / 6)
    assert (slow["long_window"], slow["short_window"]) == ("21600s", "1800s")
    assert (alert["severity"], slow["severity"]) == ("CRITICAL", "ERROR")


def _broken_slos(change: str) -> Json:
    slos: Json = json.loads(json.dumps(_real_registry()["slos"]))
    if change == "unknown sli":
        slos["bootstrapAccount-latency"]["sli"] = "happiness"
    elif change == "latency without threshold":
        slos["bootstrapAccount-latency"]["threshold_ms"] = None
    elif change == "freshness threshold between buckets":
        slos["mirrorChanges-freshness"]["threshold_ms"] = 31_000
    elif change == "goal of 1":
        slos["bootstrapAccount-availability"]["goal"] = 1
    return slos


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ("unknown sli", "sli is availability, latency"),
        ("latency without threshold", "threshold_ms is set exactly for"),
        ("freshness threshold between buckets", "must be one of log_latency_bounds_ms"),
        ("goal of 1", "goal is between 0 and 1"),
    ],
)
def test_monitoring_refuses_slos_it_cannot_measure(
    tmp_path: Path, change: str, refusal: str
) -> None:
    module_dir = _eval_dir(
        tmp_path, "monitoring", {"project_id": "demo-focus", "slos": _broken_slos(change)}
    )
    planned = _run_terraform(["plan", "-input=false"], module_dir)
    assert planned.returncode != 0
    errors = " ".join(planned.stderr.split())
    assert refusal in errors, errors


def test_the_log_sample_spares_every_line_a_log_metric_reads(real_locals: Json) -> None:
    """The _Default sink's exclusion drops routine lines below WARNING, except the events the
    log-based metrics count; the cost model prices the same sample and the same events."""
    from benchmarks.load import cost

    main = (INFRA / "modules" / "monitoring" / "main.tf").read_text()
    metric_filters = re.findall(
        r'^resource "google_logging_metric" "\w+" \{\n.*?^  filter\s*=\s*"(.*?)"\n',
        main,
        flags=re.DOTALL | re.MULTILINE,
    )
    assert len(metric_filters) == len(re.findall(r'^resource "google_logging_metric"', main, re.M))
    events = {
        e for f in metric_filters for e in re.findall(r'jsonPayload\.event=\\"([^\\]+)\\"', f)
    }
    assert events, "the log-based metrics read no events?"
    assert set(real_locals["log_metric_events"]) == events
    assert set(cost.LOG_KEPT_EVENTS) == events

    exclusion = real_locals["info_log_exclusion_filter"]
    clauses = exclusion.split(" AND ")
    assert 'resource.type="cloud_run_revision"' in clauses
    assert "severity<WARNING" in clauses
    spared = next(c for c in clauses if c.startswith("NOT ("))
    assert set(re.findall(r'jsonPayload\.event="([^"]+)"', spared)) == events
    default = re.search(
        r'variable "info_log_sample" \{.*?default\s*=\s*([\d.]+)',
        (INFRA / "modules" / "monitoring" / "variables.tf").read_text(),
        flags=re.DOTALL,
    )
    assert default and float(default.group(1)) == cost.LOG_SAMPLE
    assert f"sample(insertId, {1 - cost.LOG_SAMPLE:g})" in clauses
    assert "filter      = local.info_log_exclusion_filter" in main
