# Cloud Scheduler jobs. Each publishes one small message to its topic; the Pub/Sub-triggered
# function behind the topic does the work, with that topic's retries and dead letters.

resource "google_cloud_scheduler_job" "job" {
  for_each = var.jobs

  project     = var.project_id
  region      = var.region
  name        = each.key
  description = "Publishes to ${each.value.topic} (shared/registry.py)"
  schedule    = each.value.schedule
  time_zone   = each.value.time_zone

  pubsub_target {
    topic_name = var.topic_ids[each.value.topic]
    data       = base64encode(jsonencode({ job = each.key }))
    attributes = {
      job = each.key
    }
  }

  retry_config {
    retry_count          = 3
    min_backoff_duration = "10s"
  }
}
