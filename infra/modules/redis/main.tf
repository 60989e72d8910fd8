# Memorystore for Redis: the rate limits every function instance shares (shared/ratelimit.py).
# Private IP only, in the VPC's private services range (the one Cloud SQL uses), reached by the
# functions' Direct VPC egress; AUTH on, its string in Secret Manager for the functions.

resource "google_redis_instance" "limits" {
  #checkov:skip=CKV_GCP_97:In-transit encryption would need every client to verify the instance's own CA (not a public one) on each connection; the instance has no public address, only the functions' Direct VPC egress reaches it, it requires AUTH, and it holds only counters keyed by hashed user ids, no user data.
  project        = var.project_id
  region         = var.region
  name           = var.instance_name
  tier           = var.tier
  memory_size_gb = var.memory_size_gb
  redis_version  = "REDIS_7_0"

  authorized_network = var.network_id
  connect_mode       = "PRIVATE_SERVICE_ACCESS"
  auth_enabled       = true

  # Counters of windows no longer than an hour: nothing to keep across a restart.
  persistence_config {
    persistence_mode = "DISABLED"
  }
  # Keys expire with their window; under memory pressure the oldest windows go first.
  redis_configs = {
    maxmemory-policy = "volatile-lru"
  }
  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 3
        minutes = 0
      }
    }
  }

  labels     = var.labels
  depends_on = [var.private_services_connection]
}

resource "google_secret_manager_secret" "auth" {
  project   = var.project_id
  secret_id = "${var.instance_name}-auth"
  labels    = var.labels

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }
}

resource "google_secret_manager_secret_version" "auth" {
  secret      = google_secret_manager_secret.auth.id
  secret_data = google_redis_instance.limits.auth_string
}
