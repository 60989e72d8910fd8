# The built-in `postgres` user. Nothing uses it: the migrator is an IAM user made a member of
# cloudsqlsuperuser, the functions are IAM users in focus_writer / focus_reader. Its password is
# set at creation (and again whenever postgres_password_version changes) to a random value that
# is write-only: never in the plan, the state or anyone's hands, so the user is shut in effect.
# Break glass: `gcloud sql users set-password postgres --instance=... --prompt-for-password`,
# and afterwards bump postgres_password_version and apply, which rotates it away again.

variable "postgres_password_version" {
  description = "Bump to rotate the built-in postgres user's password to a new unknown value."
  type        = number
  default     = 1
}

ephemeral "random_password" "postgres" {
  length  = 48
  special = false
}
