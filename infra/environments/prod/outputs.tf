output "function_uris" {
  description = "Function name => URL."
  value       = module.stack.function_uris
}

output "function_service_accounts" {
  description = "Function name => runtime service account."
  value       = module.stack.function_service_accounts
}

output "tasks_invoker" {
  description = "The identity Cloud Tasks calls http functions with."
  value       = module.stack.tasks_invoker
}

output "sql_connection_name" {
  description = "Cloud SQL instance connection name."
  value       = module.stack.sql_connection_name
}

output "sql_iam_users" {
  description = "Function name => PostgreSQL user."
  value       = module.stack.sql_iam_users
}

output "sql_migrator" {
  description = "Service account and PostgreSQL user that run migrations."
  value       = module.stack.sql_migrator
}

output "dead_letter_subscriptions" {
  description = "Dead-letter topic => pull subscription to inspect and replay from."
  value       = module.stack.dead_letter_subscriptions
}

output "source_object" {
  description = "The deployed source archive."
  value       = module.stack.source_object
}
