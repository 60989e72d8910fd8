output "network_id" {
  description = "The VPC (for Cloud SQL's private IP and Direct VPC egress)."
  value       = google_compute_network.main.id
}

output "functions_subnetwork_id" {
  description = "The subnet functions using Cloud SQL egress through."
  value       = google_compute_subnetwork.functions.id
}

output "private_services_connection" {
  description = "The peering Cloud SQL's private IP depends on."
  value       = google_service_networking_connection.private_services.id
}
