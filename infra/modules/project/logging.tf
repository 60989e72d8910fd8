# How long request logs are kept. They carry uids (docs/PRIVACY.md, "Logs"), and PRIVACY.md
# promises LOG_RETENTION_DAYS: tests/infra/test_privacy_retention.py holds the two together.
# Function logs go to the _Default bucket; _Required (audit logs of admin actions, 400 days) is
# fixed by Google and holds no request data.

locals {
  log_retention_days = 30
}

resource "google_logging_project_bucket_config" "default" {
  project        = var.project_id
  location       = "global"
  bucket_id      = "_Default"
  retention_days = local.log_retention_days

  depends_on = [google_project_service.this]
}
