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

  # A standby in a second zone; about 8 MB per connection leaves room in 16 GB for 1,000
  # connections next to shared buffers. Raise both with the functions' max instances.
  sql = {
    tier              = "db-custom-4-16384"
    availability_type = "REGIONAL"
    disk_size_gb      = 100
    max_connections   = 1000
  }

  alert_notification_channels = var.alert_notification_channels
}
