output "url" {
  description = "redis:// URL of the instance, without the AUTH string (FOCUS_REDIS_URL)."
  value       = "redis://${google_redis_instance.limits.host}:${google_redis_instance.limits.port}/0"
}

output "auth_secret_id" {
  description = "Secret Manager secret holding the AUTH string (FOCUS_REDIS_PASSWORD)."
  value       = google_secret_manager_secret.auth.secret_id
}
