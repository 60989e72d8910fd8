variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "region" {
  description = "Region of the instance (the functions' region)."
  type        = string
}

variable "instance_name" {
  description = "Name of the Memorystore instance."
  type        = string
}

variable "tier" {
  description = "BASIC (one node) or STANDARD_HA (a replica with automatic failover)."
  type        = string
  default     = "STANDARD_HA"
}

variable "memory_size_gb" {
  description = "Capacity; about 100 bytes per user and limit in use at once."
  type        = number
  default     = 1
}

variable "network_id" {
  description = "VPC the instance is reachable from."
  type        = string
}

variable "private_services_connection" {
  description = "Id of the service networking connection; the instance is created after it."
  type        = string
}

variable "labels" {
  description = "Labels of the instance and the secret."
  type        = map(string)
  default     = {}
}
