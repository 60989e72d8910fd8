variable "project_id" {
  description = "The GCP (and Firebase) project of this environment."
  type        = string
}

variable "region" {
  description = "Region of everything regional."
  type        = string
  default     = "europe-west1"
}

variable "operator_image" {
  description = "The operator image (the Dockerfile at the repository root) the jobs run, by digest: REGION-docker.pkg.dev/PROJECT/REPO/focusctl@sha256:..."
  type        = string
}

variable "alert_notification_channels" {
  description = "Monitoring notification channel ids (projects/<p>/notificationChannels/<id>)."
  type        = list(string)
  default     = []
}

variable "runbook_base_url" {
  description = "Where docs/runbooks/ is browsable, e.g. the repository at the deployed commit; alerts link their runbook under it."
  type        = string
  default     = ""
}

# The registry, from registry.auto.tfvars.json (generated from shared/registry.py by
# `make requirements`; never edit it by hand). Validated in modules/stack.

variable "functions" {
  description = "The registry's functions."
  type = map(object({
    kind          = string
    topic         = string
    memory_mb     = number
    timeout_s     = number
    max_instances = number
    concurrency   = number
    roles         = list(string)
    sql_pool      = number
    publishes     = list(string)
    task_queues   = list(string)
  }))
}

variable "topics" {
  description = "The registry's topics."
  type = map(object({
    dead_letter_topic     = string
    max_delivery_attempts = number
    min_backoff_s         = number
    max_backoff_s         = number
  }))
}

variable "queues" {
  description = "The registry's Cloud Tasks queues (one entry per shard)."
  type = map(object({
    target_function           = string
    max_dispatches_per_second = number
    max_concurrent_dispatches = number
    max_attempts              = number
    min_backoff_s             = number
    max_backoff_s             = number
  }))
}

variable "scheduled_jobs" {
  description = "The registry's Cloud Scheduler jobs."
  type = map(object({
    schedule  = string
    topic     = string
    time_zone = string
  }))
}

variable "slos" {
  description = "The registry's SLOs."
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
}
