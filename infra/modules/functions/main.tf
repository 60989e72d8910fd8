# Every function of the registry: its source, its own service account with only the roles the
# registry lists for it, the function itself, and who may invoke it. Everything here is driven
# by for_each over var.functions, so a new registry entry needs no edit in this module.

locals {
  # The settings every function reads (shared settings, FOCUS_* variables; see infra/README.md).
  common_env = {
    FOCUS_ENV                = "production"
    FOCUS_DEPLOYMENT         = var.environment
    FOCUS_PROJECT_ID         = var.project_id
    FOCUS_REGION             = var.region
    FOCUS_FIRESTORE_DATABASE = var.firestore_database
    FOCUS_TASKS_INVOKER_SA   = google_service_account.tasks_invoker.email
    FOCUS_HTTP_FUNCTION_URLS = jsonencode(local.http_function_urls)
    FOCUS_SQL_INSTANCE       = var.sql_connection_name
    FOCUS_SQL_DATABASE       = var.sql_database
    FOCUS_SQL_IP_TYPE        = "private"
    FOCUS_REDIS_URL          = var.redis_url
    # What the Firebase CLI sets on the functions it deploys: the Google client libraries and
    # firebase_admin.initialize_app() find the project through these.
    GOOGLE_CLOUD_PROJECT = var.project_id
    GCLOUD_PROJECT       = var.project_id
    FIREBASE_CONFIG      = jsonencode({ projectId = var.project_id })
    # Adds the execution id to every log line of a request.
    LOG_EXECUTION_ID = "true"
  }

  source_dir = "${path.module}/../../../build/functions-source"
}

# --- Source ----------------------------------------------------------------------------------

# `make package` assembles build/functions-source (functions/*.py, shared/, requirements.txt).
data "archive_file" "source" {
  type             = "zip"
  source_dir       = local.source_dir
  output_path      = "${path.root}/.terraform/build/functions-source.zip"
  output_file_mode = "0644" # the same bytes on every machine, so the same object name
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Holds only deploy archives built from the repository; who reads or writes them is in Cloud Audit Logs, and an access-log bucket would need its own exemption.
  project                     = var.project_id
  name                        = "${var.project_id}-functions-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  # Terraform deletes the previous archive when the hash changes; versioning keeps it for a
  # while so a rollback can point at it.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_object" "source" {
  bucket = google_storage_bucket.source.name
  # The content hash in the name makes every function rebuild when, and only when, the code
  # changes.
  name   = "functions-source-${data.archive_file.source.output_sha256}.zip"
  source = data.archive_file.source.output_path
}

# --- Identities ------------------------------------------------------------------------------

# One runtime identity per function (account ids: "fn-" + lowercased name, at most 30 chars).
resource "google_service_account" "fn" {
  for_each = var.functions

  project      = var.project_id
  account_id   = "fn-${lower(each.key)}"
  display_name = "Function ${each.key}"
  description  = "Runtime identity of the ${each.value.kind} function ${each.key}; roles come from shared/registry.py."
}

# Predefined roles on the project; custom roles in custom_roles.tf; publisher and Cloud Tasks
# roles on their topics and queues (modules/pubsub, modules/tasks).
resource "google_project_iam_member" "fn" {
  for_each = local.project_role_grants

  project = var.project_id
  role    = each.value.role
  member  = "serviceAccount:${google_service_account.fn[each.value.function].email}"
}

# The identity Cloud Tasks puts on its requests (OIDC) to http functions.
resource "google_service_account" "tasks_invoker" {
  project      = var.project_id
  account_id   = "tasks-invoker"
  display_name = "Cloud Tasks invoker"
  description  = "OIDC identity of Cloud Tasks requests; may invoke the http functions only."
}

# Functions that enqueue tasks name the invoker account on each task, which needs actAs on
# that one account.
resource "google_service_account_iam_member" "enqueuer_acts_as_invoker" {
  for_each = local.act_as_functions

  service_account_id = google_service_account.tasks_invoker.name
  role               = local.act_as_role
  member             = "serviceAccount:${google_service_account.fn[each.key].email}"
}

# The identity Pub/Sub push subscriptions put on their requests (OIDC) to pubsub functions.
resource "google_service_account" "pubsub_pusher" {
  project      = var.project_id
  account_id   = "pubsub-pusher"
  display_name = "Pub/Sub push invoker"
  description  = "OIDC identity of Pub/Sub push deliveries; may invoke the pubsub functions only."
}

# Cloud Build's identity for turning the source into images, instead of the default compute
# service account (which is an Editor in many projects).
resource "google_service_account" "builder" {
  project      = var.project_id
  account_id   = "functions-builder"
  display_name = "Cloud Functions builder"
  description  = "Builds the functions' images from the source archive."
}

# What a custom build account needs: read the source (on its bucket only), push the image (the
# gcf-artifacts repository is created on first push), write the build log. Not
# roles/cloudbuild.builds.builder, which could act as other service accounts.
resource "google_project_iam_member" "builder" {
  for_each = toset([
    "roles/artifactregistry.createOnPushWriter",
    "roles/logging.logWriter",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.builder.email}"
}

resource "google_storage_bucket_iam_member" "builder_reads_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.builder.email}"
}

# --- Functions -------------------------------------------------------------------------------

# Pub/Sub-triggered functions have no event_trigger: they are plain services that a push
# subscription of our own (modules/pubsub) delivers to, with an OIDC token. An Eventarc
# trigger would create and own that subscription itself, and its subscription cannot carry
# our dead-letter topic and retry policy (any change we made to it would be reverted or lost
# on the next deploy). functions-framework turns the push body into the same
# google.cloud.pubsub.topic.v1.messagePublished CloudEvent an Eventarc trigger delivers.
resource "google_cloudfunctions2_function" "fn" {
  for_each = var.functions

  project     = var.project_id
  location    = var.region
  name        = each.key
  description = "${each.value.kind} function ${each.key} (shared/registry.py)"
  labels      = merge(var.labels, { kind = each.value.kind })

  build_config {
    runtime         = "python312"
    entry_point     = each.key # functions/main.py re-exports every function by name
    service_account = google_service_account.builder.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory = "${each.value.memory_mb}Mi"
    # More than one request per instance needs at least a whole vCPU; otherwise the size
    # follows from memory.
    available_cpu                    = each.value.concurrency > 1 ? (each.value.memory_mb > 4096 ? "2" : "1") : null
    max_instance_request_concurrency = each.value.concurrency
    timeout_seconds                  = each.value.timeout_s
    max_instance_count               = each.value.max_instances
    min_instance_count               = lookup(var.min_instances, each.key, 0)
    # Callables are called by the apps over the internet; Cloud Tasks and Pub/Sub push count
    # as internal sources, so nothing else needs to be reachable from outside.
    ingress_settings               = each.value.kind == "callable" ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.fn[each.key].email

    environment_variables = merge(
      local.common_env,
      contains(keys(local.sql_functions), each.key) ? {
        FOCUS_SQL_IAM_USER = trimsuffix(google_service_account.fn[each.key].email, ".gserviceaccount.com")
        # The registry's connections per instance; the sum over instances is budgeted against
        # max_connections (modules/stack, check "sql_connection_budget").
        FOCUS_SQL_POOL_SIZE = tostring(each.value.sql_pool)
      } : {},
      # Push deliveries are checked against these (shared/push/auth.py).
      each.value.kind == "pubsub" ? {
        FOCUS_PUBSUB_PUSHER_SA     = google_service_account.pubsub_pusher.email
        FOCUS_PUBSUB_PUSH_AUDIENCE = local.pubsub_push_audiences[each.key]
      } : {},
    )

    # The AUTH string of the rate limits' Redis, never in the plain environment.
    secret_environment_variables {
      key        = "FOCUS_REDIS_PASSWORD"
      project_id = var.project_id
      secret     = var.redis_auth_secret_id
      version    = "latest"
    }

    # Every function gets a leg in the VPC, for private ranges only (Cloud SQL, and the
    # Memorystore instance every function's rate limits or push budget use): their calls to
    # Google APIs keep the default path.
    direct_vpc_egress = "VPC_EGRESS_PRIVATE_RANGES_ONLY"

    direct_vpc_network_interface {
      network    = var.network_id
      subnetwork = var.subnetwork_id
    }
  }

  # The roles are in place before the first request runs under the new identity.
  depends_on = [
    google_project_iam_member.fn,
    google_project_iam_member.fn_custom,
    google_project_iam_member.builder,
    google_secret_manager_secret_iam_member.redis_auth,
    google_storage_bucket_iam_member.builder_reads_source,
  ]
}

# Each function reads the Redis AUTH string, and no other secret.
resource "google_secret_manager_secret_iam_member" "redis_auth" {
  for_each = var.functions

  project   = var.project_id
  secret_id = var.redis_auth_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.fn[each.key].email}"
}

# --- Who may invoke --------------------------------------------------------------------------

# 2nd gen functions are Cloud Run services: invoking one takes run.invoker on the service
# (roles/cloudfunctions.invoker on the function is not enough).

resource "google_cloud_run_service_iam_member" "callable_public" {
  #checkov:skip=CKV_GCP_102:Firebase callables must be reachable without a Google identity (the apps hold Firebase ID tokens, not IAM credentials); each callable verifies the Firebase ID token and the App Check token itself. Only kind == "callable" reaches this resource.
  for_each = local.callable_functions

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_service_iam_member" "http_tasks_invoker" {
  for_each = local.http_functions

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.tasks_invoker.email}"
}

resource "google_cloud_run_service_iam_member" "pubsub_pusher" {
  for_each = local.pubsub_functions

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.pubsub_pusher.email}"
}
