# Production.

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

  environment    = "prod"
  project_id     = var.project_id
  region         = var.region
  functions      = var.functions
  topics         = var.topics
  queues         = var.queues
  scheduled_jobs = var.scheduled_jobs
  slos           = var.slos

  # Direct VPC egress takes about two addresses per instance of a SQL function during a
  # rollout; they may run ~2,400 instances at their peak, so a /19 (8,192 addresses).
  functions_subnet_cidr = "10.8.0.0/19"

  # A standby in a second zone. The registry's functions may hold 2,606 connections at their
  # peak (max_instances x sql_pool, once request paths read SQL: docs/MIGRATION.md); about
  # 8 MB per connection leaves room in 32 GB for 3,000 next to shared buffers. Raise both with
  # the functions' max instances, or put Cloud SQL managed connection pooling in front.
  sql = {
    tier              = "db-custom-8-32768"
    availability_type = "REGIONAL"
    disk_size_gb      = 100
    max_connections   = 3000
  }

  # Unenforced until the App Check metrics show (nearly) every Firestore request verified;
  # then ENFORCED (infra/README.md, "App Check on Firestore").
  firestore_app_check_enforcement = "UNENFORCED"

  # The postgres user's password is random and unknown; bump after a break-glass use.
  postgres_password_version = 1

  # Backfill and reconcile as Cloud Run jobs; Cloud Scheduler runs the incremental reconcile
  # every 30 minutes and a sample pass nightly (infra/modules/jobs, docs/MIGRATION.md).
  # 240 connections for the jobs beside the functions' 2,606 and 20 reserved: 2,866 <= 3,000.
  jobs = {
    image = var.operator_image
  }

  alert_notification_channels = var.alert_notification_channels
  runbook_base_url            = var.runbook_base_url
}
