output "database" {
  description = "Firestore database id."
  value       = google_firestore_database.main.name
}

output "ruleset" {
  description = "The released ruleset."
  value       = google_firebaserules_ruleset.firestore.name
}
