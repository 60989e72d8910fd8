variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "region" {
  description = "Region of the instance (the functions' region, to keep latency and egress low)."
  type        = string
}

variable "instance_name" {
  description = "Cloud SQL instance name. A deleted instance's name cannot be reused for a week."
  type        = string
}

variable "database_name" {
  description = "The application database."
  type        = string
  default     = "focus"
}

variable "network_id" {
  description = "VPC whose private services range gives the instance its (only) IP."
  type        = string
}

variable "private_services_connection" {
  description = "Id of the service networking connection; the instance is created after it."
  type        = string
}

variable "tier" {
  description = "Machine type, e.g. db-custom-2-7680 (vCPUs-memory MB)."
  type        = string
}

variable "availability_type" {
  description = "REGIONAL (a standby in another zone, automatic failover) or ZONAL."
  type        = string

  validation {
    condition     = contains(["REGIONAL", "ZONAL"], var.availability_type)
    error_message = "availability_type must be REGIONAL or ZONAL."
  }
}

variable "disk_size_gb" {
  description = "Initial disk size; the disk grows automatically."
  type        = number
}

variable "max_connections" {
  description = "PostgreSQL max_connections. Budget it against the SQL functions' max instances."
  type        = number
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (both in Terraform and in the API)."
  type        = bool
  default     = true
}

variable "iam_service_accounts" {
  description = "Function name => service account email; each becomes an IAM database user."
  type        = map(string)
}

variable "labels" {
  description = "Labels for the instance."
  type        = map(string)
  default     = {}
}
