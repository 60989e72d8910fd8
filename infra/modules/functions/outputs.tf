output "service_account_emails" {
  description = "Function name => runtime service account email."
  value       = { for name, sa in google_service_account.fn : name => sa.email }
}

output "uris" {
  description = "Function name => URL of its Cloud Run service."
  value       = { for name, fn in google_cloudfunctions2_function.fn : name => fn.service_config[0].uri }
}

output "http_function_urls" {
  description = "http function name => deterministic run.app URL (what FOCUS_HTTP_FUNCTION_URLS holds)."
  value       = local.http_function_urls
}

output "tasks_invoker_email" {
  description = "The identity Cloud Tasks calls http functions with."
  value       = google_service_account.tasks_invoker.email
}

output "pubsub_pusher_email" {
  description = "The identity Pub/Sub push subscriptions call pubsub functions with."
  value       = google_service_account.pubsub_pusher.email
}

output "pubsub_pusher_id" {
  description = "Resource name of the pusher account (for IAM on it)."
  value       = google_service_account.pubsub_pusher.name
}

output "source_object" {
  description = "The deployed source archive."
  value       = "gs://${google_storage_bucket.source.name}/${google_storage_bucket_object.source.name}"
}

output "publisher_grants" {
  description = "\"<function> <topic>\" => the function's service account and the topic it may publish to."
  value = {
    for key, grant in local.publisher_grants : key => {
      topic  = grant.topic
      member = "serviceAccount:${google_service_account.fn[grant.function].email}"
    }
  }
}

output "queue_grants" {
  description = "\"<function> <role> <queue>\" => the function's service account, the role and the queue."
  value = {
    for key, grant in local.queue_grants : key => {
      queue  = grant.queue
      role   = grant.role
      member = "serviceAccount:${google_service_account.fn[grant.function].email}"
    }
  }
}

output "pubsub_push_audiences" {
  description = "pubsub function name => the audience of its push tokens (its deterministic run.app URL)."
  value       = local.pubsub_push_audiences
}
