output "function_uris" {
  description = "Function name => URL."
  value       = module.functions.uris
}

output "function_service_accounts" {
  description = "Function name => runtime service account."
  value       = module.functions.service_account_emails
}

output "tasks_invoker" {
  description = "The identity Cloud Tasks calls http functions with."
  value       = module.functions.tasks_invoker_email
}

output "sql_connection_name" {
  description = "Cloud SQL instance connection name."
  value       = module.cloudsql.connection_name
}

output "sql_iam_users" {
  description = "Function name => PostgreSQL user (GRANT the app role to these in a migration)."
  value       = module.cloudsql.iam_users
}

output "sql_migrator" {
  description = "Service account and PostgreSQL user that run migrations."
  value = {
    service_account = module.cloudsql.migrator_service_account
    user            = module.cloudsql.migrator_user
  }
}

output "dead_letter_subscriptions" {
  description = "Dead-letter topic => pull subscription to inspect and replay from."
  value       = module.pubsub.dead_letter_subscriptions
}

output "source_object" {
  description = "The deployed source archive."
  value       = module.functions.source_object
}
