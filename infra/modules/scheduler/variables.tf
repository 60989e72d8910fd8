variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "region" {
  description = "Location of the jobs."
  type        = string
}

variable "jobs" {
  description = "The registry's scheduled jobs (shared/registry.py), keyed by job name."
  type = map(object({
    schedule  = string
    topic     = string
    time_zone = string
  }))
}

variable "topic_ids" {
  description = "Topic name => id."
  type        = map(string)
}
