terraform {
  required_version = ">= 1.11.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.25"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 7.25"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
    # Ephemeral random_password (the postgres user's write-only password) needs 3.7.
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }
}
