output "service_account" {
  description = "The jobs' runtime service account (Firestore read, Cloud SQL IAM user)."
  value       = google_service_account.jobs.email
}

output "job_names" {
  description = "Job => Cloud Run job name."
  value       = { for key, job in google_cloud_run_v2_job.job : key => job.name }
}

output "peak_connections" {
  description = "PostgreSQL connections the jobs may hold at once, at most (the stack's budget)."
  value       = local.peak_connections
}
