variable "project_id" {
  description = "The GCP (and Firebase) project."
  type        = string
}

variable "location" {
  description = "Firestore location (a region such as europe-west1, or a multi-region such as eur3)."
  type        = string
}

variable "backup_retention" {
  description = "How long weekly backups are kept (at most 14 weeks), on top of 7 days of PITR."
  type        = string
  default     = "8467200s" # 14 weeks
}
