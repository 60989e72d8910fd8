# Derived from the variables alone (no resource in sight), so tests evaluate these with Terraform
# itself, without a provider, against the real registry and a richer one.

locals {
  # Log-based metrics (shared/mirror/consumer.py and shared/push/delivery.py write the fields).
  log_metrics = {
    mirror_lag    = "focus_mirror_lag_ms"
    push_lateness = "focus_push_lateness_ms"
    push_sends    = "focus_push_sends"
    drift_items   = "focus_mirror_drift_items"
  }

  # The `jsonPayload.event` of every line a log-based metric (main.tf) counts. The ingestion
  # sample below never drops them, whatever their severity (tests/infra/test_monitoring.py
  # checks the list against the metrics' filters).
  log_metric_events = ["mirrorApplied", "push.delivery", "push.send", "mirrorDriftItem"]

  # What the _Default sink leaves out of ingestion (docs/COST.md, "Cloud Logging"): of the
  # functions' lines below WARNING and Cloud Run's request logs of successful requests (INFO),
  # only `var.info_log_sample` is kept; WARNING and above, and every line a log-based metric
  # reads, are kept whole. `sample(insertId, f)` matches the fraction f of entries.
  info_log_exclusion_filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "severity<WARNING",
    "NOT (${join(" OR ", [for event in local.log_metric_events : "jsonPayload.event=\"${event}\""])})",
    "sample(insertId, ${1 - var.info_log_sample})",
  ])

  # One custom service per function with SLOs; a Cloud Function's Cloud Run service is its
  # lowercased name.
  slo_functions = {
    for name in distinct([for slo in values(var.slos) : slo.function]) : name => {
      service_id  = "fn-${lower(name)}"
      run_service = lower(name)
    }
  }

  # Every SLI is request-based: good/total counts (ratio) or the share of a distribution under
  # the threshold (cut).
  _run = { for key, slo in var.slos : key => "resource.type=\"cloud_run_revision\" resource.labels.service_name=\"${lower(slo.function)}\"" }
  sli_filters = {
    for key, slo in var.slos : key => {
      availability = {
        kind         = "ratio"
        good         = null
        bad          = "metric.type=\"run.googleapis.com/request_count\" ${local._run[key]} metric.labels.response_code_class=\"5xx\""
        total        = "metric.type=\"run.googleapis.com/request_count\" ${local._run[key]}"
        distribution = null
      }
      latency = {
        kind         = "cut"
        good         = null
        bad          = null
        total        = null
        distribution = "metric.type=\"run.googleapis.com/request_latencies\" ${local._run[key]}"
      }
      freshness = {
        kind         = "cut"
        good         = null
        bad          = null
        total        = null
        distribution = "metric.type=\"logging.googleapis.com/user/${local.log_metrics.mirror_lag}\" ${local._run[key]}"
      }
      punctuality = {
        kind         = "cut"
        good         = null
        bad          = null
        total        = null
        distribution = "metric.type=\"logging.googleapis.com/user/${local.log_metrics.push_lateness}\" ${local._run[key]}"
      }
      # Final FCM answers: accepted, or the token is gone (the device's doing, not ours); a
      # retry is not final and is counted when it settles.
      delivery = {
        kind         = "ratio"
        good         = "metric.type=\"logging.googleapis.com/user/${local.log_metrics.push_sends}\" ${local._run[key]} metric.labels.outcome=one_of(\"sent\",\"unregistered\",\"token_removed\")"
        bad          = "metric.type=\"logging.googleapis.com/user/${local.log_metrics.push_sends}\" ${local._run[key]} metric.labels.outcome=\"failed\""
        total        = null
        distribution = null
      }
    }[slo.sli]
  }

  # Multiwindow, multi-burn-rate (the SRE workbook): page when 2 % of the period's error budget
  # burns in 1 h, open a ticket when 5 % burns in 6 h; each also needs a short window (1/12 of
  # the long one) still burning, so an alert stops soon after the burn does.
  burn_rate_windows = {
    fast = { budget = 0.02, long_min = 60, short_min = 5, severity = "CRITICAL" }
    slow = { budget = 0.05, long_min = 360, short_min = 30, severity = "ERROR" }
  }
  burn_rate_alerts = merge([
    for key, slo in var.slos : {
      for tier, w in local.burn_rate_windows : "${key}-${tier}" => {
        slo          = key
        function     = slo.function
        sli          = slo.sli
        tier         = tier
        long_window  = "${w.long_min * 60}s"
        short_window = "${w.short_min * 60}s"
        # Burn rate 1 spends the budget in exactly the period.
        threshold = w.budget * slo.period_days * 24 * 60 / w.long_min
        severity  = w.severity
        runbook   = slo.runbook
      }
    }
  ]...)

  # The mirror consumer's push subscription (shared.registry.subscription_name): its oldest
  # unacked event says the mirror is stalled even when nothing is applied, so no lag is logged.
  backlog_subscriptions = {
    for slo in values(var.slos) : slo.function => "${slo.topic}--${slo.function}" if slo.sli == "freshness"
  }

  runbooks = distinct(concat([for slo in values(var.slos) : slo.runbook], ["reconcile-drift", "mirror-backlog"]))
  runbook_urls = {
    for name in local.runbooks : name => (
      var.runbook_base_url == "" ? "docs/runbooks/${name}.md" : "${trimsuffix(var.runbook_base_url, "/")}/${name}.md"
    )
  }
}
