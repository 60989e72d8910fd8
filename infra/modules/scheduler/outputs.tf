output "job_ids" {
  description = "Job name => id."
  value       = { for name, job in google_cloud_scheduler_job.job : name => job.id }
}
