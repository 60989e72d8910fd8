# App Check on Firestore. The apps read their own documents straight from Firestore (the rules
# allow it), which no function's limit sees; with App Check enforced, only requests from our
# genuine apps (attested by Play Integrity / App Attest) reach Firestore at all. Rolled out as
# infra/README.md says: UNENFORCED first, watch the verified share, then ENFORCED.

variable "app_check_enforcement" {
  description = "App Check on Firestore: UNENFORCED (metrics only) or ENFORCED."
  type        = string

  validation {
    condition     = contains(["UNENFORCED", "ENFORCED"], var.app_check_enforcement)
    error_message = "app_check_enforcement is UNENFORCED or ENFORCED."
  }
}

resource "google_firebase_app_check_service_config" "firestore" {
  project          = var.project_id
  service_id       = "firestore.googleapis.com"
  enforcement_mode = var.app_check_enforcement
}
