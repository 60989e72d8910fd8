# The operator jobs as Cloud Run Jobs: `focusctl mirror backfill` and `focusctl mirror reconcile`
# from one image, each job running N tasks that split the partitions between them
# (CLOUD_RUN_TASK_INDEX / CLOUD_RUN_TASK_COUNT, shared/migration/tools/jobs.py), under their own
# service account that may read Firestore and use PostgreSQL as its IAM user, nothing else.
# Cloud Scheduler runs the incremental reconcile (every 30 minutes) and a sample pass (nightly):
# they replace the `reconcileMirror` function that sampled users before, and log the same
# `mirrorDrift` metric line and drift items the monitoring module's alert counts. Backfill and
# the full pass are run by hand (`gcloud run jobs execute`), as the cut-over plan in
# docs/MIGRATION.md says.

locals {
  common_args = ["--project", var.project_id, "mirror"]
  jobs = {
    "backfill" = {
      tasks = var.backfill_tasks
      args = ["backfill", "--partitions", tostring(var.backfill_partitions), "--no-progress",
      "--rate", tostring(var.documents_per_second)]
      # One thread per partition of the task's share, plus one connection for cursors.
      pool    = ceil(var.backfill_partitions / var.backfill_tasks) + 1
      timeout = "86400s"
    }
    # The scheduled passes report drift through --log-metric (the drift metric and its alert)
    # and exit 0 when they completed (--no-fail-on-drift): a non-zero exit, which Cloud Run
    # retries (max_retries), is then a run that failed, not drift found.
    "reconcile-incremental" = {
      tasks = var.reconcile_tasks
      args = ["reconcile", "--no-progress", "--log-metric", "--no-fail-on-drift",
      "--workers", tostring(var.reconcile_workers), "--rate", tostring(var.documents_per_second)]
      pool    = var.reconcile_workers + 1
      timeout = "3600s"
    }
    # What an incremental pass cannot see (a row changed in SQL by hand, a lost marker): a
    # random sample compared in full. One task: the sample is small.
    "reconcile-sample" = {
      tasks = 1
      args = ["reconcile", "--sample", tostring(var.sample_users), "--no-progress", "--log-metric",
        "--no-fail-on-drift", "--workers", tostring(var.reconcile_workers),
      "--rate", tostring(var.documents_per_second)]
      pool    = var.reconcile_workers + 1
      timeout = "3600s"
    }
    "reconcile-all" = {
      tasks = var.reconcile_tasks
      args = ["reconcile", "--all", "--partitions", tostring(var.reconcile_partitions),
        "--no-progress", "--log-metric", "--workers", tostring(var.reconcile_workers),
      "--rate", tostring(var.documents_per_second)]
      pool    = var.reconcile_workers + 1
      timeout = "86400s"
    }
  }
  peak_connections = sum([for job in values(local.jobs) : job.tasks * job.pool])
  over_budget      = { for key, job in local.jobs : key => job.tasks * job.pool if job.tasks * job.pool > var.sql_connection_budget }
}

# The tasks refuse to start over budget (FOCUS_JOB_SQL_CONNECTIONS); say so at plan time.
check "jobs_fit_their_connection_budget" {
  assert {
    condition     = length(local.over_budget) == 0
    error_message = "These jobs' tasks x pool exceed the jobs' connection budget of ${var.sql_connection_budget}: ${jsonencode(local.over_budget)}. Use fewer tasks or workers, or raise jobs.sql_connections with max_connections."
  }
}

resource "google_service_account" "jobs" {
  project      = var.project_id
  account_id   = "mirror-jobs"
  display_name = "Backfill and reconcile jobs (Firestore read, PostgreSQL write)"
}

# Firestore read (datastore.viewer: get, list and query, no write); Cloud SQL connect as the
# account's own IAM database user, whose grants the migrations give (the mirror's tables only).
resource "google_project_iam_member" "jobs" {
  for_each = toset(["roles/datastore.viewer", "roles/cloudsql.client", "roles/cloudsql.instanceUser"])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.jobs.email}"
}

resource "google_sql_user" "jobs" {
  project  = var.project_id
  instance = var.sql_instance_name
  name     = trimsuffix(google_service_account.jobs.email, ".gserviceaccount.com")
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

resource "google_cloud_run_v2_job" "job" {
  for_each = local.jobs

  project             = var.project_id
  location            = var.region
  name                = "mirror-${each.key}-${var.environment}"
  deletion_protection = false
  labels              = var.labels

  template {
    task_count  = each.value.tasks
    parallelism = each.value.tasks
    labels      = var.labels

    template {
      service_account = google_service_account.jobs.email
      timeout         = each.value.timeout
      # A failed task is run again with the same index, and resumes from its saved cursors.
      # Cloud Run retries on any non-zero exit (it has no per-exit-code policy): the scheduled
      # reconcile passes exit 0 on drift they reported (--no-fail-on-drift, above).
      max_retries = 3

      containers {
        image = var.image
        args  = concat(local.common_args, each.value.args)

        env {
          name  = "FOCUS_SQL_INSTANCE"
          value = var.sql_connection_name
        }
        env {
          name  = "FOCUS_SQL_DATABASE"
          value = var.sql_database
        }
        env {
          name  = "FOCUS_SQL_IP_TYPE"
          value = "private"
        }
        env {
          name  = "FOCUS_SQL_IAM_USER"
          value = google_sql_user.jobs.name
        }
        env {
          name  = "FOCUS_FIRESTORE_DATABASE"
          value = var.firestore_database
        }
        env {
          name  = "FOCUS_JOB_SQL_CONNECTIONS"
          value = tostring(var.sql_connection_budget)
        }

        resources {
          limits = {
            cpu    = "1"
            memory = "1Gi"
          }
        }
      }

      vpc_access {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          network    = var.network_id
          subnetwork = var.subnetwork_id
        }
      }
    }
  }

  depends_on = [google_project_iam_member.jobs]
}

# --- The scheduled reconcile passes ----------------------------------------------------------

locals {
  # Job key => its Cloud Scheduler cron (UTC).
  scheduled = {
    "reconcile-incremental" = var.incremental_schedule
    "reconcile-sample"      = var.sample_schedule
  }
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "mirror-jobs-scheduler"
  display_name = "Runs the scheduled reconcile jobs"
}

resource "google_cloud_run_v2_job_iam_member" "scheduler" {
  for_each = local.scheduled

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.job[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

moved {
  from = google_cloud_run_v2_job_iam_member.scheduler
  to   = google_cloud_run_v2_job_iam_member.scheduler["reconcile-incremental"]
}

moved {
  from = google_cloud_scheduler_job.incremental_reconcile
  to   = google_cloud_scheduler_job.reconcile["reconcile-incremental"]
}

resource "google_cloud_scheduler_job" "reconcile" {
  for_each = local.scheduled

  project     = var.project_id
  region      = var.region
  name        = "mirror-${each.key}"
  description = "Runs the ${each.key} job (docs/MIGRATION.md, reconcile passes)"
  schedule    = each.value
  time_zone   = "Etc/UTC"

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.job[each.key].name}:run"

    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  retry_config {
    retry_count          = 1
    min_backoff_duration = "60s"
  }
}
