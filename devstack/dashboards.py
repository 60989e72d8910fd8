"""The Cloud Monitoring dashboards, one per area, rendered from the registry's SLOs.

`python -m devstack render-registry` (run by `make requirements`) writes them to
`infra/modules/monitoring/dashboards/<area>.json`, which Terraform deploys as they are; a test
fails while a checked-in file differs from what the registry renders. Each dashboard starts
with the SLIs of its functions (the same filters as the SLOs in infra/modules/monitoring), then
how each function is doing (requests by status class, instances), then what the area depends
on (the mirror's backlog and dead letters, the push queues and FCM answers).

Filters name no project: a dashboard reads the metrics of the project it is deployed in.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from shared import registry

Json = dict[str, Any]

COLUMNS = 48
TILE_WIDTH = 24
TILE_HEIGHT = 16
ALIGNMENT = "60s"

# Names of the log-based metrics, as in infra/modules/monitoring/locals.tf.
MIRROR_LAG = "logging.googleapis.com/user/focus_mirror_lag_ms"
PUSH_LATENESS = "logging.googleapis.com/user/focus_push_lateness_ms"
PUSH_SENDS = "logging.googleapis.com/user/focus_push_sends"
DRIFT_ITEMS = "logging.googleapis.com/user/focus_mirror_drift_items"
GOOD_SENDS = ("sent", "unregistered", "token_removed")
NOT_5XX = ("1xx", "2xx", "3xx", "4xx")

TITLES = {
    "callables": "Focus: callables",
    "sync": "Focus: sessions sync",
    "mirror": "Focus: PostgreSQL mirror",
    "pushes": "Focus: silent pushes",
}


def _run(fn: registry.Function) -> str:
    return f'resource.type="cloud_run_revision" resource.labels.service_name="{fn.name.lower()}"'


def _one_of(values: tuple[str, ...]) -> str:
    return "one_of(" + ",".join(f'"{v}"' for v in values) + ")"


def _rate(filter_: str, group_by: tuple[str, ...] = ()) -> Json:
    aggregation: Json = {
        "alignmentPeriod": ALIGNMENT,
        "perSeriesAligner": "ALIGN_RATE",
        "crossSeriesReducer": "REDUCE_SUM",
    }
    if group_by:
        aggregation["groupByFields"] = list(group_by)
    return {"filter": filter_, "aggregation": aggregation}


def _percentile(filter_: str, goal: float) -> Json:
    # The percentile the SLO's goal speaks of: p99 for 99 %, p95 for 95 %.
    aligner = "ALIGN_PERCENTILE_99" if goal >= 0.99 else "ALIGN_PERCENTILE_95"
    return {
        "filter": filter_,
        "aggregation": {
            "alignmentPeriod": ALIGNMENT,
            "perSeriesAligner": aligner,
            "crossSeriesReducer": "REDUCE_MAX",
        },
    }


def _chart(title: str, data_sets: list[Json], threshold: float | None = None) -> Json:
    chart: Json = {"dataSets": data_sets}
    if threshold is not None:
        chart["thresholds"] = [{"value": threshold}]
    return {"title": title, "xyChart": chart}


def _series(query: Json, plot: str = "LINE") -> Json:
    return {"timeSeriesQuery": {"timeSeriesFilter": query}, "plotType": plot}


def _ratio(numerator: Json, denominator: Json) -> Json:
    return {
        "timeSeriesQuery": {
            "timeSeriesFilterRatio": {"numerator": numerator, "denominator": denominator}
        },
        "plotType": "LINE",
    }


def sli_title(fn: registry.Function, slo: registry.Slo) -> str:
    """The title of a function's SLI tile (the registry-consistency test looks for it)."""
    within = f" within {slo.threshold_ms} ms" if slo.threshold_ms is not None else ""
    return f"SLI {fn.name} {slo.sli}{within} (SLO {slo.goal * 100:g} %)"


def sli_widget(fn: registry.Function, slo: registry.Slo) -> Json:
    title = sli_title(fn, slo)
    run = _run(fn)
    if slo.sli == "availability":
        requests = f'metric.type="run.googleapis.com/request_count" {run}'
        good = f"{requests} metric.labels.response_code_class={_one_of(NOT_5XX)}"
        return _chart(title, [_ratio(_rate(good), _rate(requests))], slo.goal)
    if slo.sli == "delivery":
        sends = f'metric.type="{PUSH_SENDS}" {run}'
        good = f"{sends} metric.labels.outcome={_one_of(GOOD_SENDS)}"
        final = f"{sends} metric.labels.outcome={_one_of((*GOOD_SENDS, 'failed'))}"
        return _chart(title, [_ratio(_rate(good), _rate(final))], slo.goal)
    metric = {
        "latency": "run.googleapis.com/request_latencies",
        "freshness": MIRROR_LAG,
        "punctuality": PUSH_LATENESS,
    }[slo.sli]
    query = _percentile(f'metric.type="{metric}" {run}', slo.goal)
    return _chart(title, [_series(query)], slo.threshold_ms)


def function_widgets(fn: registry.Function) -> list[Json]:
    run = _run(fn)
    requests = f'metric.type="run.googleapis.com/request_count" {run}'
    instances = f'metric.type="run.googleapis.com/container/instance_count" {run}'
    return [
        _chart(
            f"{fn.name} requests/s by status class",
            [_series(_rate(requests, ("metric.label.response_code_class",)), "STACKED_BAR")],
        ),
        _chart(
            f"{fn.name} instances",
            [
                _series(
                    {
                        "filter": instances,
                        "aggregation": {
                            "alignmentPeriod": ALIGNMENT,
                            "perSeriesAligner": "ALIGN_MAX",
                            "crossSeriesReducer": "REDUCE_SUM",
                            "groupByFields": ["metric.label.state"],
                        },
                    },
                    "STACKED_AREA",
                )
            ],
        ),
    ]


def _subscription_chart(title: str, subscription_filter: str, metric: str) -> Json:
    return _chart(
        title,
        [
            _series(
                {
                    "filter": f'metric.type="pubsub.googleapis.com/subscription/{metric}" '
                    f'resource.type="pubsub_subscription" {subscription_filter}',
                    "aggregation": {
                        "alignmentPeriod": ALIGNMENT,
                        "perSeriesAligner": "ALIGN_MAX",
                        "crossSeriesReducer": "REDUCE_MAX",
                        "groupByFields": ["resource.label.subscription_id"],
                    },
                }
            )
        ],
    )


def dependency_widgets(area: registry.Area) -> list[Json]:
    """What the area's functions depend on, after their own tiles."""
    widgets: list[Json] = []
    fns = [fn for fn in registry.FUNCTIONS if fn.area == area]
    if area == "mirror":
        for fn in fns:
            if fn.topic is None or not any(s.sli == "freshness" for s in fn.slos):
                continue
            sub = f'resource.labels.subscription_id="{registry.subscription_name(fn)}"'
            widgets.append(
                _subscription_chart(
                    f"{fn.name} backlog: oldest unacked event (s)",
                    sub,
                    "oldest_unacked_message_age",
                )
            )
            widgets.append(
                _subscription_chart(
                    f"{fn.name} backlog: undelivered events", sub, "num_undelivered_messages"
                )
            )
        dead = 'resource.labels.subscription_id=ends_with("--inspect")'
        widgets.append(
            _subscription_chart("Dead letters waiting", dead, "num_undelivered_messages")
        )
        widgets.append(
            _chart(
                "Drifted records found by the scheduled reconcile",
                [
                    _series(
                        _rate(
                            # Logged by the scheduled reconcile jobs' tasks (infra/modules/jobs).
                            f'metric.type="{DRIFT_ITEMS}" resource.type="cloud_run_job"',
                            ("metric.label.collection", "metric.label.kind"),
                        ),
                        "STACKED_BAR",
                    )
                ],
            )
        )
    if area == "pushes":
        for queue in registry.QUEUES:
            widgets.append(
                _chart(
                    f"Cloud Tasks queue {queue.name}: tasks waiting",
                    [
                        _series(
                            {
                                "filter": 'metric.type="cloudtasks.googleapis.com/queue/depth" '
                                'resource.type="cloud_tasks_queue" '
                                f'resource.labels.queue_id=starts_with("{queue.name}")',
                                "aggregation": {
                                    "alignmentPeriod": ALIGNMENT,
                                    "perSeriesAligner": "ALIGN_MAX",
                                    "crossSeriesReducer": "REDUCE_SUM",
                                },
                            }
                        )
                    ],
                )
            )
        for fn in fns:
            if any(s.sli == "delivery" for s in fn.slos):
                widgets.append(
                    _chart(
                        f"{fn.name} FCM answers/s by outcome",
                        [
                            _series(
                                _rate(
                                    f'metric.type="{PUSH_SENDS}" {_run(fn)}',
                                    ("metric.label.outcome", "metric.label.kind"),
                                ),
                                "STACKED_BAR",
                            )
                        ],
                    )
                )
    return widgets


def _text(title: str, content: str) -> Json:
    return {"title": title, "text": {"content": content, "format": "MARKDOWN"}}


def dashboard(area: registry.Area) -> Json:
    fns = [fn for fn in registry.FUNCTIONS if fn.area == area]
    sections: list[list[Json]] = [
        [
            _text(
                "SLIs",
                "Each SLI against its SLO (the line). Alerts and runbooks: docs/runbooks/; "
                "why each target is what it is: docs/OPERATIONS.md.",
            )
        ],
        [sli_widget(fn, slo) for fn in fns for slo in fn.slos],
        [_text("Functions", "Requests by status class and instances, per function.")],
        [w for fn in fns for w in function_widgets(fn)],
    ]
    extra = dependency_widgets(area)
    if extra:
        sections += [[_text("Dependencies", "What these functions wait on.")], extra]
    tiles: list[Json] = []
    y = 0
    for section in sections:
        if len(section) == 1 and "text" in section[0]:
            tiles.append(
                {"xPos": 0, "yPos": y, "width": COLUMNS, "height": 4, "widget": section[0]}
            )
            y += 4
            continue
        for i, widget in enumerate(section):
            x = (i % 2) * TILE_WIDTH
            tiles.append(
                {
                    "xPos": x,
                    "yPos": y + (i // 2) * TILE_HEIGHT,
                    "width": TILE_WIDTH,
                    "height": TILE_HEIGHT,
                    "widget": widget,
                }
            )
        y += ((len(section) + 1) // 2) * TILE_HEIGHT
    return {
        "displayName": TITLES[area],
        "mosaicLayout": {"columns": COLUMNS, "tiles": tiles},
    }


def render_dashboards() -> dict[str, str]:
    """Area => the dashboard JSON text to check in."""
    return {
        area: json.dumps(dashboard(area), indent=2, sort_keys=True) + "\n"
        for area in get_args(registry.Area)
    }
