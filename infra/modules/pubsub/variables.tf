variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "topics" {
  description = "The registry's topics (shared/registry.py), keyed by topic name."
  type = map(object({
    dead_letter_topic     = string
    max_delivery_attempts = number
    min_backoff_s         = number
    max_backoff_s         = number
  }))
}

variable "push_subscriptions" {
  description = <<-EOT
    Pubsub function name => its push subscription: the topic it reads, the endpoint pushes
    go to, the OIDC audience (the function's URL), and the ack deadline (how long one delivery
    may run).
  EOT
  type = map(object({
    topic          = string
    endpoint       = string
    audience       = string
    ack_deadline_s = number
  }))
}

variable "pusher_email" {
  description = "Service account whose OIDC token push deliveries carry."
  type        = string
}

variable "pusher_id" {
  description = "Resource name of that account (projects/-/serviceAccounts/...)."
  type        = string
}

variable "pubsub_service_agent" {
  description = "IAM member of the project's Pub/Sub service agent."
  type        = string
}

variable "alert_notification_channels" {
  description = "Monitoring notification channel ids told about dead letters."
  type        = list(string)
  default     = []
}

variable "runbook_base_url" {
  description = "Where docs/runbooks/ is browsable (empty: alerts name the path in the repository)."
  type        = string
  default     = ""
}

variable "labels" {
  description = "Labels for topics and subscriptions."
  type        = map(string)
  default     = {}
}
