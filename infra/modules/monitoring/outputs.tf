output "slo_names" {
  description = "SLO key => its full resource name (for select_slo_* queries)."
  value       = { for key, slo in google_monitoring_slo.slo : key => slo.name }
}

output "dashboard_ids" {
  description = "Area => dashboard id."
  value       = { for area, dashboard in google_monitoring_dashboard.area : area => dashboard.id }
}
