# A VPC of our own so that Cloud SQL has a private IP only: functions that use SQL reach it
# through Direct VPC egress, and nothing on the internet can open a connection to it.

resource "google_compute_network" "main" {
  project                 = var.project_id
  name                    = "focus"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "functions" {
  project       = var.project_id
  name          = "functions-egress"
  region        = var.region
  network       = google_compute_network.main.id
  ip_cidr_range = var.functions_subnet_cidr
  # Functions reach Google APIs without leaving Google's network.
  private_ip_google_access = true

  # Sampled flow logs: enough to debug connectivity without paying for every flow.
  log_config {
    aggregation_interval = "INTERVAL_5_MIN"
    flow_sampling        = 0.1
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# The implied rule already denies ingress; this one makes it explicit and logged, so a rule
# added by hand later cannot silently open the network.
resource "google_compute_firewall" "deny_all_ingress" {
  project   = var.project_id
  name      = "deny-all-ingress"
  network   = google_compute_network.main.id
  direction = "INGRESS"
  priority  = 65534

  deny {
    protocol = "all"
  }
  source_ranges = ["0.0.0.0/0"]

  log_config {
    metadata = "EXCLUDE_ALL_METADATA"
  }
}

# Private services access: the range Cloud SQL's private IP is taken from.
resource "google_compute_global_address" "private_services" {
  project       = var.project_id
  name          = "google-managed-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = var.private_services_prefix_length
  network       = google_compute_network.main.id
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.main.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
}
