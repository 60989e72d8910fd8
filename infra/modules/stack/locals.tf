# Derived from the variables alone (no resource in sight), so tests evaluate these with Terraform
# itself, without a provider, against a richer registry than the real one.

locals {
  labels = {
    app         = "focus"
    environment = var.environment
  }

  sql_functions = {
    for name, fn in var.functions : name => fn if contains(fn.roles, "roles/cloudsql.instanceUser")
  }
  http_functions = { for name, fn in var.functions : name => fn if fn.kind == "http" }
  # For a push subscription the ack deadline (10..600 s) is how long one delivery may run.
  pubsub_functions = {
    for name, fn in var.functions : name => merge(fn, { ack_deadline_s = max(10, min(600, fn.timeout_s)) })
    if fn.kind == "pubsub"
  }

  # Connections the functions may open at their peak, next to what is kept back for the
  # migrator, operators and Cloud SQL itself.
  # The operator jobs' share of max_connections (infra/modules/jobs), none without jobs.
  jobs_peak_connections    = var.jobs == null ? 0 : var.jobs.sql_connections
  sql_peak_connections     = sum(concat([0], [for fn in values(local.sql_functions) : fn.max_instances * fn.sql_pool]))
  sql_reserved_connections = 20

  # Requests Cloud Tasks may have in flight to each http function, next to how many its
  # instances take at once. Beyond that Cloud Run answers 429, and each refusal spends one of
  # the task's attempts.
  task_dispatch_capacity = {
    for name, fn in local.http_functions : name => {
      in_flight = sum(concat([0], [
        for queue in values(var.queues) : queue.max_concurrent_dispatches
        if queue.target_function == name
      ]))
      capacity = fn.max_instances * fn.concurrency
    }
  }
  overloaded_task_targets = {
    for name, load in local.task_dispatch_capacity : name => load if load.in_flight > load.capacity
  }
}
