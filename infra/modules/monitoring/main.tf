# SLOs, burn-rate alerts and dashboards of every function, from the registry's SLOs
# (shared/registry.py). What each target is and why: docs/OPERATIONS.md; what to do when an
# alert fires: docs/runbooks/.

# --- Log-based metrics: the SLIs that Cloud Run's own metrics cannot see ----------------------

resource "google_logging_metric" "mirror_lag" {
  project = var.project_id
  name    = local.log_metrics.mirror_lag
  # One line per applied change batch (shared/mirror/consumer.py): commit to SQL row, ms.
  filter          = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"mirrorApplied\" AND jsonPayload.kind=\"changes\""
  value_extractor = "EXTRACT(jsonPayload.lagMs)"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "Mirror lag (commit to SQL row)"
  }

  bucket_options {
    explicit_buckets {
      bounds = var.log_latency_bounds_ms
    }
  }
}

resource "google_logging_metric" "push_lateness" {
  project = var.project_id
  name    = local.log_metrics.push_lateness
  # One line per schedule-push delivery that ran to its end (shared/push/delivery.py); a push
  # given up as too late counts with its lateness. Retries are left out: the attempt that
  # settles carries the lateness.
  filter          = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"push.delivery\" AND jsonPayload.kind=\"schedule\" AND (jsonPayload.outcome=\"done\" OR jsonPayload.outcome=\"stale:too_late\")"
  value_extractor = "EXTRACT(jsonPayload.lateMs)"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "Schedule push lateness (planned instant to delivery)"
  }

  bucket_options {
    explicit_buckets {
      bounds = var.log_latency_bounds_ms
    }
  }
}

resource "google_logging_metric" "push_sends" {
  project = var.project_id
  name    = local.log_metrics.push_sends
  # One line per device a push went to, with FCM's settled answer.
  filter = "resource.type=\"cloud_run_revision\" AND jsonPayload.event=\"push.send\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Pushes sent to FCM, by outcome"

    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "sent, unregistered, token_removed, retry, dropped_quota or failed"
    }

    labels {
      key         = "kind"
      value_type  = "STRING"
      description = "schedule or sync"
    }
  }

  label_extractors = {
    outcome = "EXTRACT(jsonPayload.outcome)"
    kind    = "EXTRACT(jsonPayload.kind)"
  }
}

resource "google_logging_metric" "drift_items" {
  project = var.project_id
  name    = local.log_metrics.drift_items
  # The scheduled reconcile jobs (infra/modules/jobs: the incremental pass every 30 minutes, a
  # nightly sample) log one line per drifted record they find (up to 20 per task and run), from
  # their tasks: Cloud Run jobs, not services.
  filter = "resource.type=\"cloud_run_job\" AND jsonPayload.event=\"mirrorDriftItem\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Mirror drift found by the scheduled reconcile"

    labels {
      key         = "collection"
      value_type  = "STRING"
      description = "The mirrored collection"
    }

    labels {
      key         = "kind"
      value_type  = "STRING"
      description = "missing, extra, stale, content or invalid"
    }
  }

  label_extractors = {
    collection = "EXTRACT(jsonPayload.collection)"
    kind       = "EXTRACT(jsonPayload.kind)"
  }
}

# --- Ingestion: a sample of the routine lines --------------------------------------------------

# Cloud Logging bills ingestion per GiB, and the functions' one-line-per-call INFO logs and Cloud
# Run's request logs were a fifth of a user's cost (docs/COST.md). Excluded from the _Default
# sink, a log entry is neither stored nor billed; the metrics above keep every line they read,
# and incidents keep every WARNING and ERROR.
resource "google_logging_project_exclusion" "routine_lines" {
  count = var.info_log_sample < 1 ? 1 : 0

  project     = var.project_id
  name        = "focus-routine-lines-sample"
  description = "Keep ${var.info_log_sample * 100}% of the functions' lines below WARNING and of successful requests' logs; WARNING+ and the log-based metrics' lines are kept whole."
  filter      = local.info_log_exclusion_filter
}

# --- Services and SLOs --------------------------------------------------------------------------

resource "google_monitoring_custom_service" "fn" {
  for_each = local.slo_functions

  project      = var.project_id
  service_id   = each.value.service_id
  display_name = "Function ${each.key}"
  user_labels  = var.labels
}

resource "google_monitoring_slo" "slo" {
  for_each = var.slos

  project             = var.project_id
  service             = google_monitoring_custom_service.fn[each.value.function].service_id
  slo_id              = lower(each.key)
  display_name        = "${each.value.function}: ${each.value.sli}${each.value.threshold_ms == null ? "" : " within ${each.value.threshold_ms} ms"}, ${each.value.goal * 100} % over ${each.value.period_days} days"
  goal                = each.value.goal
  rolling_period_days = each.value.period_days
  user_labels         = var.labels

  request_based_sli {
    dynamic "good_total_ratio" {
      for_each = local.sli_filters[each.key].kind == "ratio" ? [local.sli_filters[each.key]] : []
      content {
        good_service_filter  = good_total_ratio.value.good
        bad_service_filter   = good_total_ratio.value.bad
        total_service_filter = good_total_ratio.value.total
      }
    }

    dynamic "distribution_cut" {
      for_each = local.sli_filters[each.key].kind == "cut" ? [local.sli_filters[each.key]] : []
      content {
        distribution_filter = distribution_cut.value.distribution
        range {
          max = each.value.threshold_ms
        }
      }
    }
  }

  depends_on = [
    google_logging_metric.mirror_lag,
    google_logging_metric.push_lateness,
    google_logging_metric.push_sends,
  ]
}

# --- Alerts -------------------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "burn_rate" {
  for_each = local.burn_rate_alerts

  project      = var.project_id
  display_name = "${each.value.function} ${each.value.sli} SLO: ${each.value.tier} burn"
  combiner     = "AND"
  severity     = each.value.severity
  user_labels  = merge(var.labels, { sli = each.value.sli, tier = each.value.tier })

  conditions {
    display_name = "Burn rate over ${each.value.long_window}"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${google_monitoring_slo.slo[each.value.slo].name}\", \"${each.value.long_window}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"
    }
  }

  conditions {
    display_name = "Burn rate over ${each.value.short_window}"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${google_monitoring_slo.slo[each.value.slo].name}\", \"${each.value.short_window}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      ${each.value.function} is spending its ${each.value.sli} error budget ${each.value.threshold}x
      faster than the SLO allows (${each.value.tier == "fast" ? "2 % of the budget in 1 h" : "5 % of the budget in 6 h"}).
      Runbook: ${local.runbook_urls[each.value.runbook]}
    EOT
  }
}

resource "google_monitoring_alert_policy" "reconcile_drift" {
  project      = var.project_id
  display_name = "Mirror drift found by the scheduled reconcile"
  combiner     = "OR"
  severity     = "WARNING"
  user_labels  = var.labels

  conditions {
    display_name = "Drifted records found in the last hour"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.drift_items.name}\" resource.type=\"cloud_run_job\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      The scheduled reconcile jobs (incremental pass or nightly sample) found PostgreSQL rows
      that differ from Firestore.
      Runbook: ${local.runbook_urls["reconcile-drift"]}
    EOT
  }
}

resource "google_monitoring_alert_policy" "mirror_backlog" {
  for_each = local.backlog_subscriptions

  project      = var.project_id
  display_name = "Mirror backlog growing on ${each.value}"
  combiner     = "OR"
  severity     = "CRITICAL"
  user_labels  = var.labels

  conditions {
    display_name = "Oldest unacked change event older than ${var.mirror_backlog_age_s} s"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\" resource.type=\"pubsub_subscription\" resource.labels.subscription_id=\"${each.value}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.mirror_backlog_age_s
      duration        = "600s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      ${each.key} is not keeping up: change events wait on ${each.value}, so SQL reads are stale.
      Runbook: ${local.runbook_urls["mirror-backlog"]}
    EOT
  }
}

# --- Dashboards: one per area, rendered from the registry by `make requirements` ------------------

resource "google_monitoring_dashboard" "area" {
  for_each = toset([for file in fileset("${path.module}/dashboards", "*.json") : trimsuffix(file, ".json")])

  project        = var.project_id
  dashboard_json = file("${path.module}/dashboards/${each.key}.json")
}
