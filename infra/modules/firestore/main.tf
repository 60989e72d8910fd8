# Firestore (the primary store today): the database, the security rules from the repository's
# firestore.rules, and the composite indexes and field overrides from firestore.indexes.json.

resource "google_firestore_database" "main" {
  project     = var.project_id
  name        = "(default)"
  location_id = var.location
  type        = "FIRESTORE_NATIVE"
  # The server SDKs' transactions lock what they read; the client apps only read.
  concurrency_mode                  = "PESSIMISTIC"
  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  # Removing the resource from the configuration must never drop the data.
  deletion_policy = "ABANDON"
}

resource "google_firestore_backup_schedule" "weekly" {
  project   = var.project_id
  database  = google_firestore_database.main.name
  retention = var.backup_retention

  weekly_recurrence {
    day = "SUNDAY"
  }
}

# --- Security rules --------------------------------------------------------------------------

# A changed file makes a new ruleset (rulesets are immutable) and a new release pointing at it.
# The new ruleset is created first so the release is gone only for the moment it is replaced.
resource "google_firebaserules_ruleset" "firestore" {
  project = var.project_id

  source {
    files {
      name    = "firestore.rules"
      content = file(local.rules_path)
    }
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_firestore_database.main]
}

resource "google_firebaserules_release" "firestore" {
  project      = var.project_id
  name         = "cloud.firestore" # the (default) database's release
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore.name}"
}

# --- Indexes ---------------------------------------------------------------------------------

resource "google_firestore_index" "composite" {
  for_each = local.composite_indexes

  project     = var.project_id
  database    = google_firestore_database.main.name
  collection  = each.value.collectionGroup
  query_scope = try(each.value.queryScope, "COLLECTION")
  api_scope   = try(each.value.apiScope, null)
  density     = try(each.value.density, null)

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.fieldPath
      order        = try(fields.value.order, null)
      array_config = try(fields.value.arrayConfig, null)

      dynamic "vector_config" {
        for_each = can(fields.value.vectorConfig) ? [fields.value.vectorConfig] : []
        content {
          dimension = vector_config.value.dimension
          flat {}
        }
      }
    }
  }
}

# Single-field overrides: "indexes": [] exempts a field from indexing (how a monotonically
# increasing field avoids the ~500 writes/s hot spot), "ttl": true makes Firestore delete
# documents once the timestamp in that field has passed.
resource "google_firestore_field" "override" {
  for_each = local.overrides

  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = each.value.collectionGroup
  field      = each.value.fieldPath

  dynamic "index_config" {
    for_each = can(each.value.indexes) ? [each.value.indexes] : []
    content {
      dynamic "indexes" {
        for_each = index_config.value
        content {
          query_scope  = try(indexes.value.queryScope, "COLLECTION")
          order        = try(indexes.value.order, null)
          array_config = try(indexes.value.arrayConfig, null)
        }
      }
    }
  }

  dynamic "ttl_config" {
    for_each = try(each.value.ttl, false) ? [true] : []
    content {}
  }
}
