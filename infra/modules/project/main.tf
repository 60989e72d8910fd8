# The project's APIs and the service agents that the other modules grant roles to.

locals {
  services = toset([
    "artifactregistry.googleapis.com", # images built from the functions' source
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudtasks.googleapis.com",
    "cloudtrace.googleapis.com", # spans from the functions (shared/tracing.py)
    "compute.googleapis.com",    # the VPC that reaches Cloud SQL's private IP
    "fcm.googleapis.com",
    "firebaseappcheck.googleapis.com",
    "firebaserules.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",  # OIDC tokens for Pub/Sub push and Cloud Tasks
    "identitytoolkit.googleapis.com", # Firebase Auth
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "redis.googleapis.com",         # Memorystore: the functions' shared rate limits
    "secretmanager.googleapis.com", # the Redis AUTH string
    "run.googleapis.com",           # 2nd gen functions run as Cloud Run services
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com", # also used by the Cloud SQL Python connector at run time
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "this" {
  for_each = local.services

  project = var.project_id
  service = each.value
  # Turning an API off on destroy would break whatever else in the project uses it.
  disable_on_destroy = false
}

data "google_project" "this" {
  project_id = var.project_id
}

# Service agents are created lazily by Google; asking for the identity makes it exist before
# the first IAM binding that names it.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.this]
}
