output "connection_name" {
  description = "project:region:instance, what the Cloud SQL connector dials."
  value       = google_sql_database_instance.main.connection_name
}

output "database_name" {
  description = "The application database."
  value       = google_sql_database.main.name
}

output "iam_users" {
  description = "Function name => PostgreSQL user name (for GRANTs in migrations)."
  value       = { for k, u in google_sql_user.function : k => u.name }
}

output "migrator_service_account" {
  description = "Email of the account that runs migrations."
  value       = google_service_account.migrator.email
}

output "migrator_user" {
  description = "PostgreSQL user name of the migrator."
  value       = google_sql_user.migrator.name
}
