variable "project_id" {
  description = "The GCP (and Firebase) project to deploy into."
  type        = string
}
