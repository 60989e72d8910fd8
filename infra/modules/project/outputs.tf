output "project_number" {
  description = "Numeric project id (part of Cloud Run URLs and service agent emails)."
  value       = data.google_project.this.number
}

output "pubsub_service_agent" {
  description = "IAM member of the Pub/Sub service agent."
  value       = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

output "enabled_services" {
  description = "The APIs this module enabled."
  value       = sort([for s in google_project_service.this : s.service])
}
