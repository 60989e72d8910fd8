# Custom roles where the predefined ones are admin roles: roles/firebaseauth.admin can also
# create, update and impersonate users and change Auth's configuration, and
# roles/firebasecloudmessaging.admin manages FCM itself. The functions only look users up,
# delete them and send messages (local.custom_roles lists the permissions).

resource "google_project_iam_custom_role" "fn" {
  for_each = local.custom_roles

  project     = var.project_id
  role_id     = each.key
  title       = each.value.title
  description = each.value.description
  permissions = each.value.permissions
}

resource "google_project_iam_member" "fn_custom" {
  for_each = local.custom_role_grants

  project = var.project_id
  role    = google_project_iam_custom_role.fn[each.value.role_id].name
  member  = "serviceAccount:${google_service_account.fn[each.value.function].email}"
}
