# Cloud Tasks queues, with the registry's rate limits and retries. The queue itself pins where
# its tasks go and with which identity, so a task can reach nothing but its target function.

resource "google_cloud_tasks_queue" "queue" {
  for_each = var.queues

  project  = var.project_id
  location = var.region
  name     = each.key

  # 500 dispatches/s is the ceiling of one queue; sharded queues ("<name>-<n>") go past it.
  rate_limits {
    max_dispatches_per_second = each.value.max_dispatches_per_second
    max_concurrent_dispatches = each.value.max_concurrent_dispatches
  }

  retry_config {
    max_attempts = each.value.max_attempts
    min_backoff  = "${each.value.min_backoff_s}s"
    max_backoff  = "${each.value.max_backoff_s}s"
  }

  stackdriver_logging_config {
    sampling_ratio = var.log_sampling_ratio
  }

  http_target {
    http_method = "POST"

    uri_override {
      scheme                    = "HTTPS"
      host                      = trimprefix(var.target_urls[each.value.target_function], "https://")
      uri_override_enforce_mode = "ALWAYS"
    }

    oidc_token {
      service_account_email = var.invoker_email
      audience              = var.target_urls[each.value.target_function]
    }
  }
}
