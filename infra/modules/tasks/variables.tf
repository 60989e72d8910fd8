variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "region" {
  description = "Location of the queues (the functions' region)."
  type        = string
}

variable "queues" {
  description = "The registry's queues (shared/registry.py), one entry per shard, keyed by queue name."
  type = map(object({
    target_function           = string
    max_dispatches_per_second = number
    max_concurrent_dispatches = number
    max_attempts              = number
    min_backoff_s             = number
    max_backoff_s             = number
  }))
}

variable "target_urls" {
  description = "http function name => its URL; every task of a queue goes to its target function."
  type        = map(string)
}

variable "invoker_email" {
  description = "Service account whose OIDC token every task carries."
  type        = string
}

variable "log_sampling_ratio" {
  description = "Share of task dispatches logged (0 to 1); every dispatch logged costs at scale."
  type        = number
  default     = 0.01
}
