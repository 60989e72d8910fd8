variable "environment" {
  description = "Deployment name: staging or prod."
  type        = string
}

variable "project_id" {
  description = "The GCP (and Firebase) project."
  type        = string
}

variable "region" {
  description = "Region of everything regional."
  type        = string
}

variable "firestore_location" {
  description = "Firestore location; null means the region."
  type        = string
  default     = null
}

# --- The registry (shared/registry.py, through registry.auto.tfvars.json) ---------------------

variable "functions" {
  description = "The registry's functions, keyed by function name."
  type = map(object({
    kind          = string
    topic         = string
    memory_mb     = number
    timeout_s     = number
    max_instances = number
    concurrency   = number
    roles         = list(string)
    sql_pool      = number
  }))

  validation {
    condition     = alltrue([for fn in values(var.functions) : contains(["callable", "http", "pubsub"], fn.kind)])
    error_message = "A function's kind is callable, http or pubsub."
  }

  # "fn-" + the lowercased name is the service account id, which is at most 30 characters.
  validation {
    condition = alltrue([for name in keys(var.functions) : can(regex("^[A-Za-z][A-Za-z0-9]{0,26}$", name))]) && (
      length(distinct([for name in keys(var.functions) : lower(name)])) == length(var.functions)
    )
    error_message = "Function names are letters and digits, at most 27 characters, and distinct ignoring case."
  }

  validation {
    condition     = alltrue([for fn in values(var.functions) : (fn.kind == "pubsub") == (fn.topic != null)])
    error_message = "A pubsub function names its topic; other kinds name none."
  }

  validation {
    condition     = alltrue([for fn in values(var.functions) : fn.topic == null || contains(keys(var.topics), coalesce(fn.topic, "-"))])
    error_message = "A pubsub function's topic must be one of the registry's topics."
  }

  # Pub/Sub waits at most 600 s (the longest ack deadline) for a push; Cloud Tasks at most
  # 1800 s for an HTTP target.
  validation {
    condition = alltrue([
      for fn in values(var.functions) :
      fn.timeout_s >= 1 && fn.timeout_s <= lookup({ pubsub = 600, http = 1800 }, fn.kind, 3600)
    ])
    error_message = "timeout_s is at most 600 for pubsub, 1800 for http and 3600 for callable functions."
  }

  validation {
    condition = alltrue([
      for fn in values(var.functions) :
      fn.memory_mb >= 128 && fn.memory_mb <= 32768 && fn.concurrency >= 1 && fn.concurrency <= 1000 && fn.max_instances >= 1
    ])
    error_message = "memory_mb is 128..32768, concurrency 1..1000, max_instances at least 1."
  }

  # A function connects to PostgreSQL exactly when it holds the IAM database user role.
  validation {
    condition = alltrue([
      for fn in values(var.functions) :
      fn.sql_pool >= 0 && fn.sql_pool <= 20 && (fn.sql_pool > 0) == contains(fn.roles, "roles/cloudsql.instanceUser")
    ])
    error_message = "sql_pool is 0..20, and above 0 exactly for functions with roles/cloudsql.instanceUser."
  }

  # Least privilege is reviewed in the registry; these would defeat it whatever the review.
  validation {
    condition = alltrue(flatten([
      for fn in values(var.functions) : [
        for role in fn.roles :
        !contains(["roles/owner", "roles/editor", "roles/viewer"], role) && (
          !can(regex("(?i)admin", role)) ||
          contains(["roles/firebaseauth.admin", "roles/firebasecloudmessaging.admin"], role)
        )
      ]
    ]))
    error_message = "Functions may not have basic roles, nor admin roles other than roles/firebaseauth.admin and roles/firebasecloudmessaging.admin."
  }
}

variable "topics" {
  description = "The registry's topics, keyed by topic name."
  type = map(object({
    dead_letter_topic     = string
    max_delivery_attempts = number
    min_backoff_s         = number
    max_backoff_s         = number
  }))

  # Pub/Sub's own limits.
  validation {
    condition = alltrue([
      for topic in values(var.topics) :
      topic.max_delivery_attempts >= 5 && topic.max_delivery_attempts <= 100 &&
      topic.min_backoff_s >= 0 && topic.min_backoff_s <= topic.max_backoff_s && topic.max_backoff_s <= 600
    ])
    error_message = "max_delivery_attempts is 5..100 and 0 <= min_backoff_s <= max_backoff_s <= 600."
  }

  validation {
    condition     = alltrue([for name, topic in var.topics : topic.dead_letter_topic != name])
    error_message = "A topic cannot be its own dead-letter topic."
  }

  validation {
    condition     = alltrue([for name in keys(var.topics) : length(name) >= 3 && length(name) <= 255])
    error_message = "Topic names are 3 to 255 characters."
  }
}

variable "queues" {
  description = "The registry's Cloud Tasks queues, one entry per shard, keyed by queue name."
  type = map(object({
    target_function           = string
    max_dispatches_per_second = number
    max_concurrent_dispatches = number
    max_attempts              = number
    min_backoff_s             = number
    max_backoff_s             = number
  }))

  validation {
    condition = alltrue([
      for queue in values(var.queues) :
      try(var.functions[queue.target_function].kind, "") == "http"
    ])
    error_message = "A queue's target_function must be an http function of the registry."
  }

  # 500 dispatches/s and 5,000 concurrent dispatches are Cloud Tasks' ceilings per queue.
  validation {
    condition = alltrue([
      for queue in values(var.queues) :
      queue.max_dispatches_per_second > 0 && queue.max_dispatches_per_second <= 500 &&
      queue.max_concurrent_dispatches >= 1 && queue.max_concurrent_dispatches <= 5000 &&
      queue.min_backoff_s >= 0 && queue.min_backoff_s <= queue.max_backoff_s
    ])
    error_message = "Queues: 0 < max_dispatches_per_second <= 500, 1 <= max_concurrent_dispatches <= 5000, min_backoff_s <= max_backoff_s."
  }
}

variable "scheduled_jobs" {
  description = "The registry's Cloud Scheduler jobs, keyed by job name."
  type = map(object({
    schedule  = string
    topic     = string
    time_zone = string
  }))

  validation {
    condition     = alltrue([for job in values(var.scheduled_jobs) : contains(keys(var.topics), job.topic)])
    error_message = "A scheduled job publishes to one of the registry's topics."
  }
}

# --- Per-environment sizing ------------------------------------------------------------------

variable "sql" {
  description = "Cloud SQL sizing; see infra/README.md for the connection budget."
  type = object({
    tier                = string
    availability_type   = string
    disk_size_gb        = number
    max_connections     = number
    deletion_protection = optional(bool, true)
  })
}

variable "min_instances" {
  description = "Function name => instances kept warm (each costs its idle price around the clock)."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.min_instances) : contains(keys(var.functions), name)])
    error_message = "min_instances names functions of the registry."
  }
}

variable "functions_subnet_cidr" {
  description = "Subnet for the Direct VPC egress of functions that use Cloud SQL."
  type        = string
  default     = "10.8.0.0/20"
}

variable "tasks_log_sampling_ratio" {
  description = "Share of Cloud Tasks dispatches logged."
  type        = number
  default     = 0.01
}

variable "alert_notification_channels" {
  description = "Monitoring notification channel ids for alerts."
  type        = list(string)
  default     = []
}

variable "jobs" {
  description = "The operator jobs (infra/modules/jobs): image is the operator image built from the Dockerfile, by digest; null deploys no jobs."
  type = object({
    image                = string
    backfill_tasks       = optional(number, 8)
    reconcile_tasks      = optional(number, 4)
    documents_per_second = optional(number, 1000)
    sql_connections      = optional(number, 240)
  })
  default = null
}
