# Which functions get what, derived from the registry alone. Nothing here refers to a resource,
# so tests evaluate these with Terraform itself (no provider) against a richer registry.

locals {
  # Granted on the Cloud Tasks invoker account only (to put its OIDC identity on tasks), never
  # on the project, where it would let the function act as every service account.
  act_as_role = "roles/iam.serviceAccountUser"
  # A function with this role gets an IAM database user and Direct VPC egress to Cloud SQL.
  sql_user_role = "roles/cloudsql.instanceUser"
  # Granted on the topics and queues the registry names for the function (`publishes`,
  # `task_queues`), by modules/pubsub and modules/tasks, never on the project.
  resource_scoped_roles = ["roles/pubsub.publisher", "roles/cloudtasks.enqueuer", "roles/cloudtasks.taskDeleter"]
  queue_roles           = ["roles/cloudtasks.enqueuer", "roles/cloudtasks.taskDeleter"]
  # Where the only predefined roles are admin roles (Firebase Auth, FCM), the registry names a
  # custom role, "custom/<id>", defined in custom_roles.tf with only the permissions used.
  custom_roles = {
    focusAuthUserReader = {
      title       = "Focus: read Auth users"
      description = "Look up a Firebase Auth user (ID token revocation checks, export)."
      permissions = ["firebaseauth.users.get"]
    }
    focusAuthUserDeleter = {
      title       = "Focus: delete Auth users"
      description = "Look up and delete a Firebase Auth user (account erasure)."
      permissions = ["firebaseauth.users.get", "firebaseauth.users.delete"]
    }
    focusFcmSender = {
      title       = "Focus: send FCM messages"
      description = "Send Firebase Cloud Messaging messages (silent pushes)."
      permissions = ["cloudmessaging.messages.create"]
    }
  }

  callable_functions = { for name, fn in var.functions : name => fn if fn.kind == "callable" }
  http_functions     = { for name, fn in var.functions : name => fn if fn.kind == "http" }
  pubsub_functions   = { for name, fn in var.functions : name => fn if fn.kind == "pubsub" }
  sql_functions      = { for name, fn in var.functions : name => fn if contains(fn.roles, local.sql_user_role) }
  act_as_functions   = { for name, fn in var.functions : name => fn if contains(fn.roles, local.act_as_role) }

  all_role_grants = merge([
    for name, fn in var.functions : {
      for role in fn.roles : "${name} ${role}" => { function = name, role = role }
    }
  ]...)
  # Predefined roles the registry grants on the project (datastore, logging, Cloud SQL).
  project_role_grants = {
    for key, grant in local.all_role_grants : key => grant
    if !contains(concat(local.resource_scoped_roles, [local.act_as_role]), grant.role) && !startswith(grant.role, "custom/")
  }
  custom_role_grants = {
    for key, grant in local.all_role_grants : key => merge(grant, { role_id = trimprefix(grant.role, "custom/") })
    if startswith(grant.role, "custom/")
  }
  # "<function> <topic>" => publisher on that topic.
  publisher_grants = merge([
    for name, fn in var.functions : {
      for topic in fn.publishes : "${name} ${topic}" => { function = name, topic = topic }
    } if contains(fn.roles, "roles/pubsub.publisher")
  ]...)
  # "<function> <role> <queue>" => enqueuer or task deleter on that queue (shard).
  queue_grants = merge(flatten([
    for name, fn in var.functions : [
      for role in setintersection(fn.roles, local.queue_roles) : {
        for queue in fn.task_queues : "${name} ${role} ${queue}" => { function = name, role = role, queue = queue }
      }
    ]
  ])...)

  # Cloud Run's deterministic URL of a function's service (the service is the lowercased
  # function name). Known before the function exists, so functions can be told where the
  # Cloud Tasks targets live without a dependency cycle between functions.
  http_function_urls = {
    for name in keys(local.http_functions) : name => "https://${lower(name)}-${var.project_number}.${var.region}.run.app"
  }

  # The audience of a pubsub function's push tokens: its deterministic Cloud Run URL, which the
  # function is told (FOCUS_PUBSUB_PUSH_AUDIENCE) and checks (shared/push/auth.py).
  pubsub_push_audiences = {
    for name in keys(local.pubsub_functions) : name => "https://${lower(name)}-${var.project_number}.${var.region}.run.app"
  }
}
