variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "slos" {
  description = "The registry's SLOs (shared/registry.py), keyed by \"<function>-<sli>\"."
  type = map(object({
    function     = string
    kind         = string
    topic        = string
    area         = string
    sli          = string
    goal         = number
    threshold_ms = number
    period_days  = number
    runbook      = string
  }))

  validation {
    condition     = alltrue([for slo in values(var.slos) : contains(["availability", "latency", "freshness", "punctuality", "delivery"], slo.sli)])
    error_message = "An SLO's sli is availability, latency, freshness, punctuality or delivery."
  }

  validation {
    condition     = alltrue([for slo in values(var.slos) : slo.goal > 0 && slo.goal < 1 && slo.period_days >= 1 && slo.period_days <= 30])
    error_message = "An SLO's goal is between 0 and 1 (exclusive) and its period 1..30 days."
  }

  validation {
    condition = alltrue([
      for slo in values(var.slos) :
      contains(["latency", "freshness", "punctuality"], slo.sli) == (slo.threshold_ms != null)
    ])
    error_message = "threshold_ms is set exactly for latency, freshness and punctuality SLOs."
  }

  validation {
    condition     = alltrue([for slo in values(var.slos) : slo.sli != "freshness" || slo.topic != null])
    error_message = "A freshness SLO belongs to a pubsub function (its subscription's backlog is watched)."
  }

  validation {
    condition = alltrue([
      for slo in values(var.slos) :
      !contains(["freshness", "punctuality"], slo.sli) || contains(var.log_latency_bounds_ms, coalesce(slo.threshold_ms, -1))
    ])
    error_message = "A freshness or punctuality threshold_ms must be one of log_latency_bounds_ms."
  }
}

variable "runbook_base_url" {
  description = "Where docs/runbooks/ is browsable (e.g. the repository at the deployed commit); empty: alerts name the path in the repository."
  type        = string
  default     = ""
}

variable "alert_notification_channels" {
  description = "Monitoring notification channel ids told about alerts."
  type        = list(string)
  default     = []
}

variable "mirror_backlog_age_s" {
  description = "Oldest unacked change event on the mirror's subscription, seconds, beyond which the backlog alert fires."
  type        = number
  default     = 600
}

variable "labels" {
  description = "User labels for SLOs and alert policies."
  type        = map(string)
  default     = {}
}

variable "log_latency_bounds_ms" {
  description = "Bucket bounds (ms) of the log-based lag and lateness distributions; an SLO's threshold on them must be one of these, so it counts whole buckets."
  type        = list(number)
  default     = [250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000]

  validation {
    condition     = alltrue([for i in range(1, length(var.log_latency_bounds_ms)) : var.log_latency_bounds_ms[i] > var.log_latency_bounds_ms[i - 1]])
    error_message = "Bucket bounds increase strictly."
  }
}

variable "info_log_sample" {
  description = "The share of INFO-and-below function and request log entries kept in Cloud Logging (WARNING and above, and the lines log-based metrics read, are all kept). 1 keeps everything."
  type        = number
  default     = 0.1

  validation {
    condition     = var.info_log_sample > 0 && var.info_log_sample <= 1
    error_message = "info_log_sample is a fraction in (0, 1]."
  }
}
