variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "region" {
  description = "Region of the functions' egress subnet."
  type        = string
}

variable "functions_subnet_cidr" {
  description = <<-EOT
    Range of the subnet every function egresses through (Direct VPC egress: Cloud SQL, Redis).
    Each instance takes an address, and about twice as many during a rollout: size it for the
    summed max_instances of the functions (a /20 holds about 2,000 instances).
  EOT
  type        = string
  default     = "10.8.0.0/20"
}

variable "private_services_prefix_length" {
  description = "Size of the range peered to Google's producer network (Cloud SQL private IPs)."
  type        = number
  default     = 20
}
