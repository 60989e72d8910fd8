# Derived from the variables alone (no resource in sight), so tests evaluate these with Terraform
# itself, without a provider, against a richer registry than the real one.

locals {
  # The rules and index files sit at the repository root, next to firebase.json, where the
  # Firebase CLI and the emulator read them too.
  repo_root    = "${path.module}/../../.."
  rules_path   = "${local.repo_root}/firestore.rules"
  indexes_path = "${local.repo_root}/firestore.indexes.json"

  # Firebase CLI format: {"indexes": [...], "fieldOverrides": [...]}. A missing file means no
  # indexes beyond the automatic single-field ones; a malformed one fails the plan.
  index_spec      = jsondecode(fileexists(local.indexes_path) ? file(local.indexes_path) : "{}")
  indexes         = try(local.index_spec.indexes, [])
  field_overrides = try(local.index_spec.fieldOverrides, [])

  # An index has no name of its own: its collection group, scope and fields identify it.
  composite_indexes = {
    for index in local.indexes :
    "${index.collectionGroup}/${try(index.queryScope, "COLLECTION")}/${join(",", [
      for field in index.fields :
      "${field.fieldPath}:${try(field.order, try(field.arrayConfig, "VECTOR"))}"
    ])}" => index
  }

  overrides = {
    for override in local.field_overrides :
    "${override.collectionGroup}/${override.fieldPath}" => override
  }
}
