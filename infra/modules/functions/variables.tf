variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "project_number" {
  description = "Numeric project id (for the functions' deterministic run.app URLs)."
  type        = string
}

variable "region" {
  description = "Region of the functions."
  type        = string
}

variable "environment" {
  description = "Deployment name (staging, prod), passed to the functions as FOCUS_DEPLOYMENT."
  type        = string
}

variable "functions" {
  description = "The registry's functions (shared/registry.py), keyed by function name."
  type = map(object({
    kind          = string
    topic         = string
    memory_mb     = number
    timeout_s     = number
    max_instances = number
    concurrency   = number
    roles         = list(string)
    sql_pool      = number
    publishes     = list(string)
    task_queues   = list(string)
  }))
}

variable "min_instances" {
  description = "Function name => instances kept warm (cold starts traded for a standing cost)."
  type        = map(number)
  default     = {}
}

variable "network_id" {
  description = "VPC that functions using Cloud SQL egress into."
  type        = string
}

variable "subnetwork_id" {
  description = "Subnet for Direct VPC egress."
  type        = string
}

variable "sql_connection_name" {
  description = "Cloud SQL instance connection name (project:region:instance)."
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

variable "labels" {
  description = "Labels for functions and buckets."
  type        = map(string)
  default     = {}
}

variable "redis_url" {
  description = "redis:// URL of the rate limits' Memorystore instance, without its AUTH string."
  type        = string
}

variable "redis_auth_secret_id" {
  description = "Secret Manager secret holding the instance's AUTH string."
  type        = string
}
