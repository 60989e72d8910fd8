# State lives in a GCS bucket given at init time:
#   terraform init -backend-config="bucket=<state bucket>" -backend-config="prefix=focus/<env>"
terraform {
  backend "gcs" {}
}
