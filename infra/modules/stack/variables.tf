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
    publishes     = list(string)
    task_queues   = list(string)
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

  # Least privilege is reviewed in the registry; this allowlist holds whatever the review: no
  # basic role, no admin role, nothing broader than what the functions use today. Publisher and
  # Cloud Tasks roles are granted per topic and queue, custom roles are defined in
  # modules/functions (custom_roles.tf). A new role is added here in its own reviewed change.
  validation {
    condition = alltrue(flatten([
      for fn in values(var.functions) : [
        for role in fn.roles : contains([
          "roles/datastore.user",
          "roles/datastore.viewer",
          "roles/logging.logWriter",
          "roles/cloudsql.client",
          "roles/cloudsql.instanceUser",
          "roles/pubsub.publisher",
          "roles/cloudtasks.enqueuer",
          "roles/cloudtasks.taskDeleter",
          "roles/iam.serviceAccountUser",
          "custom/focusAuthUserReader",
          "custom/focusAuthUserDeleter",
          "custom/focusFcmSender",
        ], role)
      ]
    ]))
    error_message = "A function's roles must be on the allowlist in modules/stack/variables.tf (no basic, admin or broader roles)."
  }

  validation {
    condition = alltrue([
      for fn in values(var.functions) :
      contains(fn.roles, "roles/pubsub.publisher") == (length(fn.publishes) > 0) &&
      alltrue([for topic in fn.publishes : contains(keys(var.topics), topic)])
    ])
    error_message = "A function with roles/pubsub.publisher names the registry topics it publishes to, and only such a function names any."
  }

  # Which queues they are is checked on var.queues (validations may not refer to each other).
  validation {
    condition = alltrue([
      for fn in values(var.functions) :
      length(setintersection(fn.roles, ["roles/cloudtasks.enqueuer", "roles/cloudtasks.taskDeleter"])) > 0 == (length(fn.task_queues) > 0)
    ])
    error_message = "A function with a Cloud Tasks role names the registry queues it uses, and only such a function names any."
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

  validation {
    condition = alltrue(flatten([
      for fn in values(var.functions) : [for queue in fn.task_queues : contains(keys(var.queues), queue)]
    ]))
    error_message = "A function's task_queues names the registry queues it uses (their shards)."
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

variable "slos" {
  description = "The registry's SLOs, keyed by \"<function>-<sli>\" (validated in modules/monitoring)."
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
    condition     = alltrue([for slo in values(var.slos) : contains(keys(var.functions), slo.function)])
    error_message = "An SLO belongs to a function of the registry."
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

variable "redis" {
  description = "Memorystore for Redis of the shared rate limits (modules/redis)."
  type = object({
    tier           = optional(string, "STANDARD_HA")
    memory_size_gb = optional(number, 1)
  })
  default = {}
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

variable "firestore_app_check_enforcement" {
  description = "App Check on Firestore: UNENFORCED while the share of verified requests is watched, then ENFORCED (infra/README.md)."
  type        = string
}

variable "postgres_password_version" {
  description = "Bump to rotate the built-in postgres user's password to a new random, unknown value (infra/README.md, Cloud SQL)."
  type        = number
  default     = 1
}

variable "runbook_base_url" {
  description = "Where docs/runbooks/ is browsable; alerts link their runbook under it (empty: the repository path)."
  type        = string
  default     = ""
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

variable "info_log_sample" {
  description = "The share of the functions' log lines below WARNING and of successful requests' logs that Cloud Logging keeps (docs/OPERATIONS.md, \"Logs: what is kept\"); 1 keeps them all."
  type        = number
  default     = 0.1
}
