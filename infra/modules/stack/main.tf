# The whole backend of one environment, wired from the registry. Environments differ only in
# the sizing they pass in.

module "project" {
  source = "../project"

  project_id = var.project_id
}

module "network" {
  source = "../network"

  project_id            = var.project_id
  region                = var.region
  functions_subnet_cidr = var.functions_subnet_cidr

  depends_on = [module.project]
}

module "firestore" {
  source = "../firestore"

  project_id            = var.project_id
  location              = coalesce(var.firestore_location, var.region)
  app_check_enforcement = var.firestore_app_check_enforcement

  depends_on = [module.project]
}

module "cloudsql" {
  source = "../cloudsql"

  project_id                  = var.project_id
  region                      = var.region
  instance_name               = "focus-${var.environment}"
  network_id                  = module.network.network_id
  private_services_connection = module.network.private_services_connection
  tier                        = var.sql.tier
  availability_type           = var.sql.availability_type
  disk_size_gb                = var.sql.disk_size_gb
  max_connections             = var.sql.max_connections
  deletion_protection         = var.sql.deletion_protection
  postgres_password_version   = var.postgres_password_version
  iam_service_accounts        = { for name in keys(local.sql_functions) : name => module.functions.service_account_emails[name] }
  labels                      = local.labels

  depends_on = [module.project]
}

module "redis" {
  source = "../redis"

  project_id                  = var.project_id
  region                      = var.region
  instance_name               = "focus-limits-${var.environment}"
  tier                        = var.redis.tier
  memory_size_gb              = var.redis.memory_size_gb
  network_id                  = module.network.network_id
  private_services_connection = module.network.private_services_connection
  labels                      = local.labels

  depends_on = [module.project]
}

module "functions" {
  source = "../functions"

  project_id           = var.project_id
  project_number       = module.project.project_number
  region               = var.region
  environment          = var.environment
  functions            = var.functions
  min_instances        = var.min_instances
  network_id           = module.network.network_id
  subnetwork_id        = module.network.functions_subnetwork_id
  sql_connection_name  = module.cloudsql.connection_name
  sql_database         = module.cloudsql.database_name
  firestore_database   = module.firestore.database
  redis_url            = module.redis.url
  redis_auth_secret_id = module.redis.auth_secret_id
  labels               = local.labels

  depends_on = [module.project]
}

module "pubsub" {
  source = "../pubsub"

  project_id = var.project_id
  topics     = var.topics
  push_subscriptions = {
    for name, fn in local.pubsub_functions : name => {
      topic = fn.topic
      # functions-framework takes the CloudEvent's source from this path of a raw push, so
      # the event looks like the one an Eventarc trigger would deliver.
      endpoint = "${module.functions.uris[name]}/projects/${var.project_id}/topics/${fn.topic}"
      # The deterministic run.app URL: the function knows it before it exists and checks it.
      audience       = module.functions.pubsub_push_audiences[name]
      ack_deadline_s = fn.ack_deadline_s
    }
  }
  publishers                  = module.functions.publisher_grants
  pusher_email                = module.functions.pubsub_pusher_email
  pusher_id                   = module.functions.pubsub_pusher_id
  pubsub_service_agent        = module.project.pubsub_service_agent
  alert_notification_channels = var.alert_notification_channels
  runbook_base_url            = var.runbook_base_url
  labels                      = local.labels

  depends_on = [module.project]
}

module "monitoring" {
  source = "../monitoring"

  project_id                  = var.project_id
  slos                        = var.slos
  runbook_base_url            = var.runbook_base_url
  alert_notification_channels = var.alert_notification_channels
  info_log_sample             = var.info_log_sample
  labels                      = local.labels

  depends_on = [module.project, module.pubsub]
}

module "tasks" {
  source = "../tasks"

  project_id         = var.project_id
  region             = var.region
  queues             = var.queues
  target_urls        = { for name in keys(local.http_functions) : name => module.functions.uris[name] }
  invoker_email      = module.functions.tasks_invoker_email
  queue_grants       = module.functions.queue_grants
  log_sampling_ratio = var.tasks_log_sampling_ratio

  depends_on = [module.project]
}

module "scheduler" {
  source = "../scheduler"

  project_id = var.project_id
  region     = var.region
  jobs       = var.scheduled_jobs
  topic_ids  = module.pubsub.topic_ids

  depends_on = [module.project]
}

# Backfill and reconcile as Cloud Run Jobs, and the scheduled reconcile passes.
module "jobs" {
  source = "../jobs"
  count  = var.jobs == null ? 0 : 1

  project_id           = var.project_id
  region               = var.region
  environment          = var.environment
  image                = var.jobs.image
  network_id           = module.network.network_id
  subnetwork_id        = module.network.functions_subnetwork_id
  sql_instance_name    = "focus-${var.environment}"
  sql_connection_name  = module.cloudsql.connection_name
  sql_database         = module.cloudsql.database_name
  firestore_database   = module.firestore.database
  backfill_tasks       = var.jobs.backfill_tasks
  reconcile_tasks      = var.jobs.reconcile_tasks
  documents_per_second = var.jobs.documents_per_second
  # Three big jobs may run at once (the nightly sample is one small task); each task checks its
  # job's share before it connects.
  sql_connection_budget = floor(var.jobs.sql_connections / 3)
  labels                = local.labels

  depends_on = [module.project, module.cloudsql]
}

# Checks warn on plan instead of refusing it: a budget may be overrun on purpose for a while
# (pools then wait for a connection, tasks back off), but it should be a decision.
check "sql_connection_budget" {
  assert {
    condition     = local.sql_peak_connections + local.sql_reserved_connections + local.jobs_peak_connections <= var.sql.max_connections
    error_message = "Functions using Cloud SQL may open ${local.sql_peak_connections} connections at max_instances x sql_pool (+${local.sql_reserved_connections} reserved), (+${local.jobs_peak_connections} for the operator jobs), more than max_connections = ${var.sql.max_connections}. Lower max_instances or sql_pool in shared/registry.py or raise max_connections (and the tier)."
  }
}

check "tasks_fit_their_targets" {
  assert {
    condition     = length(local.overloaded_task_targets) == 0
    error_message = "Cloud Tasks may have more requests in flight than these http functions take at once (max_instances x concurrency): ${jsonencode(local.overloaded_task_targets)}. The excess is refused with 429 and spends task attempts: lower the queues' max_concurrent_dispatches or raise the function's max_instances or concurrency in shared/registry.py."
  }
}
