# Staging: the same stack as prod, sized down (one zone, a small SQL tier), same safety.

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}

module "stack" {
  source = "../../modules/stack"

  environment    = "staging"
  project_id     = var.project_id
  region         = var.region
  functions      = var.functions
  topics         = var.topics
  queues         = var.queues
  scheduled_jobs = var.scheduled_jobs
  slos           = var.slos

  # Staging's traffic never comes near the registry's max_instances: the connection budget check
  # warns here, by decision (prod is sized for it).
  sql = {
    tier              = "db-custom-1-3840"
    availability_type = "ZONAL"
    disk_size_gb      = 20
    max_connections   = 200
  }
  # One node: a restart only resets the rate-limit windows.
  redis = { tier = "BASIC" }

  # Staging's apps are test builds with App Check debug tokens: enforced from the start.
  firestore_app_check_enforcement = "ENFORCED"

  # The postgres user's password is random and unknown; bump after a break-glass use.
  postgres_password_version = 1

  # Backfill and reconcile as Cloud Run jobs; Cloud Scheduler runs the incremental reconcile
  # every 30 minutes and a sample pass nightly (infra/modules/jobs, docs/MIGRATION.md).
  # Staging's jobs keep prod's shape (tasks, partitions) so a rehearsal is the real thing; their
  # connection share is inside the warning above, by the same decision.
  jobs = {
    image = var.operator_image
  }

  alert_notification_channels = var.alert_notification_channels
  runbook_base_url            = var.runbook_base_url
}
