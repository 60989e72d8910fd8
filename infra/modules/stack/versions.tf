terraform {
  required_version = ">= 1.9.0" # variable validations that refer to other variables

  required_providers {
    google = {
      source = "hashicorp/google"
    }
    google-beta = {
      source = "hashicorp/google-beta"
    }
    archive = {
      source = "hashicorp/archive"
    }
  }
}
