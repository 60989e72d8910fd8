# Cloud SQL for PostgreSQL 15, the store the data is moving to. Private IP only, TLS only,
# IAM database authentication (no passwords to keep), backups with point-in-time recovery.

resource "google_sql_database_instance" "main" {
  #checkov:skip=CKV_GCP_79:PostgreSQL 15 on purpose: the local stack and the integration tests run PostgreSQL 15, and a major upgrade is a planned migration, not a default.
  #checkov:skip=CKV_GCP_6:ssl_mode is ENCRYPTED_ONLY (TLS required); clients prove who they are with IAM database authentication over the private IP, and TRUSTED_CLIENT_CERTIFICATE_REQUIRED would also shut out operators' and migration tools' direct TLS connections.
  #checkov:skip=CKV2_GCP_13:log_duration would log every statement (each mirrored write) at tens of thousands per second; slow statements are visible in Query Insights instead.
  project             = var.project_id
  name                = var.instance_name
  region              = var.region
  database_version    = "POSTGRES_15"
  deletion_protection = var.deletion_protection
  # The bootstrap user's password: random, write-only, rotated by version (bootstrap.tf).
  root_password_wo         = ephemeral.random_password.postgres.result
  root_password_wo_version = var.postgres_password_version

  settings {
    tier                        = var.tier
    edition                     = "ENTERPRISE"
    availability_type           = var.availability_type
    disk_type                   = "PD_SSD"
    disk_size                   = var.disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = var.labels

    ip_configuration {
      # No public IP and so no authorized networks: only the VPC reaches the instance.
      ipv4_enabled    = false
      private_network = var.network_id
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "01:00"
      transaction_log_retention_days = 7

      backup_retention_settings {
        retained_backups = 14
        retention_unit   = "COUNT"
      }
    }

    maintenance_window {
      day          = 7 # Sunday
      hour         = 2 # UTC, the quietest hour for European users
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      query_string_length     = 1024
      record_application_tags = true
      record_client_address   = false
    }

    # Functions log in as their own service account; no database password exists to leak.
    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }
    database_flags {
      name  = "max_connections"
      value = tostring(var.max_connections)
    }
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    # Statement durations would log every mirror upsert; slow queries show up in Query Insights.
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    # Only schema changes (Alembic migrations) are logged as statements, not data.
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "pgaudit.log"
      value = "ddl,role"
    }
  }

  depends_on = [var.private_services_connection]
}

resource "google_sql_database" "main" {
  project  = var.project_id
  instance = google_sql_database_instance.main.name
  name     = var.database_name
  # Dropping the database with the resource would lose data that Firestore may not hold
  # any more (phases sql_primary and sql_only).
  deletion_policy = "ABANDON"
}

# One IAM database user per function that uses SQL. Cloud SQL names a service account's user
# after its email without ".gserviceaccount.com".
resource "google_sql_user" "function" {
  for_each = var.iam_service_accounts

  project  = var.project_id
  instance = google_sql_database_instance.main.name
  name     = trimsuffix(each.value, ".gserviceaccount.com")
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

# Alembic migrations, backfill and reconcile run as this account (impersonated by the deploy
# pipeline or an operator), never as a function's account.
resource "google_service_account" "migrator" {
  project      = var.project_id
  account_id   = "sql-migrator"
  display_name = "PostgreSQL schema migrations and data tooling"
}

resource "google_project_iam_member" "migrator" {
  for_each = toset(["roles/cloudsql.client", "roles/cloudsql.instanceUser"])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.migrator.email}"
}

resource "google_sql_user" "migrator" {
  project  = var.project_id
  instance = google_sql_database_instance.main.name
  name     = trimsuffix(google_service_account.migrator.email, ".gserviceaccount.com")
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}
