# Which functions get what, derived from the registry alone. Nothing here refers to a resource,
# so tests evaluate these with Terraform itself (no provider) against a richer registry.

locals {
  # Granted on the Cloud Tasks invoker account only (to put its OIDC identity on tasks), never
  # on the project, where it would let the function act as every service account.
  act_as_role = "roles/iam.serviceAccountUser"
  # A function with this role gets an IAM database user and Direct VPC egress to Cloud SQL.
  sql_user_role = "roles/cloudsql.instanceUser"
  # The only predefined roles for Firebase Auth user management and for sending FCM messages
  # are named "admin"; the registry may grant them, and no other admin role.
  admin_roles = ["roles/firebaseauth.admin", "roles/firebasecloudmessaging.admin"]

  callable_functions = { for name, fn in var.functions : name => fn if fn.kind == "callable" }
  http_functions     = { for name, fn in var.functions : name => fn if fn.kind == "http" }
  pubsub_functions   = { for name, fn in var.functions : name => fn if fn.kind == "pubsub" }
  sql_functions      = { for name, fn in var.functions : name => fn if contains(fn.roles, local.sql_user_role) }
  act_as_functions   = { for name, fn in var.functions : name => fn if contains(fn.roles, local.act_as_role) }

  project_role_grants = merge([
    for name, fn in var.functions : {
      for role in fn.roles : "${name} ${role}" => { function = name, role = role }
      if role != local.act_as_role
    }
  ]...)
  admin_role_grants   = { for key, grant in local.project_role_grants : key => grant if contains(local.admin_roles, grant.role) }
  regular_role_grants = { for key, grant in local.project_role_grants : key => grant if !contains(local.admin_roles, grant.role) }

  # Cloud Run's deterministic URL of a function's service (the service is the lowercased
  # function name). Known before the function exists, so functions can be told where the
  # Cloud Tasks targets live without a dependency cycle between functions.
  http_function_urls = {
    for name in keys(local.http_functions) : name => "https://${lower(name)}-${var.project_number}.${var.region}.run.app"
  }
}
