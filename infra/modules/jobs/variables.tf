variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "region" {
  description = "Region of the jobs and their scheduler trigger."
  type        = string
}

variable "environment" {
  description = "Deployment name: staging or prod."
  type        = string
}

variable "image" {
  description = "The operator image (Dockerfile at the repository root), by digest."
  type        = string
}

variable "network_id" {
  description = "VPC of Cloud SQL's private IP (Direct VPC egress)."
  type        = string
}

variable "subnetwork_id" {
  description = "Subnetwork the tasks take their addresses from."
  type        = string
}

variable "sql_instance_name" {
  description = "Cloud SQL instance the jobs' IAM database user is created on."
  type        = string
}

variable "sql_connection_name" {
  description = "Cloud SQL connection name (project:region:instance)."
  type        = string
}

variable "sql_database" {
  description = "PostgreSQL database name."
  type        = string
}

variable "firestore_database" {
  description = "Firestore database id."
  type        = string
}

variable "backfill_tasks" {
  description = "Tasks of the backfill job; each copies partitions i with i % tasks == its index."
  type        = number
  default     = 8
}

variable "backfill_partitions" {
  description = "uid ranges of the backfill; never change it while a backfill may be resumed."
  type        = number
  default     = 64
}

variable "reconcile_tasks" {
  description = "Tasks of the reconcile jobs (incremental: of the 64 change shards)."
  type        = number
  default     = 4
}

variable "reconcile_partitions" {
  description = "uid ranges of the full reconcile pass; the same on every run."
  type        = number
  default     = 64
}

variable "reconcile_workers" {
  description = "Users compared at once per reconcile task (its SQL pool is workers + 1)."
  type        = number
  default     = 8
}

variable "documents_per_second" {
  description = "Firestore documents/s per task: tasks x this stays inside Firestore's 500/50/5 ramp."
  type        = number
  default     = 1000
}

variable "sql_connection_budget" {
  description = "Connections all tasks of one job may hold together (checked by each task)."
  type        = number
  default     = 80
}

variable "incremental_schedule" {
  description = "Cron schedule of the incremental reconcile (UTC)."
  type        = string
  default     = "*/30 * * * *"
}

variable "sample_schedule" {
  description = "Cron schedule of the sample reconcile pass (UTC)."
  type        = string
  default     = "40 2 * * *"
}

variable "sample_users" {
  description = "Users the scheduled sample pass compares in full."
  type        = number
  default     = 1000
}

variable "labels" {
  description = "Labels of every resource."
  type        = map(string)
  default     = {}
}
