# Topics, their dead-letter topics, one push subscription per Pub/Sub-triggered function, and a
# pull subscription on each dead-letter topic where poisoned messages wait to be inspected and
# replayed.

locals {
  topic_ids = merge(
    { for name, topic in google_pubsub_topic.topic : name => topic.id },
    { for name, topic in google_pubsub_topic.dead_letter : name => topic.id },
  )
}

resource "google_pubsub_topic" "topic" {
  #checkov:skip=CKV_GCP_83:Messages are encrypted at rest with Google-managed keys, like the Firestore documents they describe; a customer-managed key would add a KMS dependency and cost to every publish with no requirement asking for it.
  for_each = var.topics

  project = var.project_id
  name    = each.key
  labels  = var.labels
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Same data as the topics they back (Google-managed encryption at rest).
  for_each = local.extra_dead_letter_names

  project = var.project_id
  name    = each.key
  labels  = merge(var.labels, { purpose = "dead-letter" })
}

# Delivery of each topic to each function that reads it. Named like
# shared.registry.subscription_name: "<topic>--<function>".
resource "google_pubsub_subscription" "push" {
  for_each = var.push_subscriptions

  project = var.project_id
  name    = "${each.value.topic}--${each.key}"
  topic   = google_pubsub_topic.topic[each.value.topic].id
  labels  = var.labels

  # For a push subscription the ack deadline is also how long Pub/Sub waits for the HTTP
  # response before it counts the delivery as failed.
  ack_deadline_seconds       = each.value.ack_deadline_s
  message_retention_duration = "604800s" # 7 days: an outage of the function loses nothing

  push_config {
    push_endpoint = each.value.endpoint

    oidc_token {
      service_account_email = var.pusher_email
      audience              = each.value.audience
    }
  }

  retry_policy {
    minimum_backoff = "${var.topics[each.value.topic].min_backoff_s}s"
    maximum_backoff = "${var.topics[each.value.topic].max_backoff_s}s"
  }

  dynamic "dead_letter_policy" {
    for_each = var.topics[each.value.topic].dead_letter_topic == null ? [] : [var.topics[each.value.topic]]
    content {
      dead_letter_topic     = local.topic_ids[dead_letter_policy.value.dead_letter_topic]
      max_delivery_attempts = dead_letter_policy.value.max_delivery_attempts
    }
  }

  # Subscriptions without activity expire after 31 days by default; these must never expire.
  expiration_policy {
    ttl = ""
  }
}

# Where dead letters wait. Acked messages are retained too, so after a fix they can be
# replayed by seeking this subscription back and republishing to the source topic.
resource "google_pubsub_subscription" "dead_letter_pull" {
  for_each = local.dead_letter_topics

  project = var.project_id
  name    = "${each.key}--inspect"
  topic   = local.topic_ids[each.key]
  labels  = merge(var.labels, { purpose = "dead-letter" })

  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  retain_acked_messages      = true

  expiration_policy {
    ttl = ""
  }
}

# --- The Pub/Sub service agent ---------------------------------------------------------------

# It forwards undeliverable messages: publisher on the dead-letter topic, subscriber on the
# source subscription (to ack what it forwarded).
resource "google_pubsub_topic_iam_member" "agent_publishes_dead_letters" {
  for_each = local.dead_letter_topics

  project = var.project_id
  topic   = local.topic_ids[each.key]
  role    = "roles/pubsub.publisher"
  member  = var.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "agent_acks_dead_letters" {
  for_each = local.dead_lettered_subscriptions

  project      = var.project_id
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = var.pubsub_service_agent
}

# It mints the OIDC tokens of push deliveries as the pusher account (projects created before
# April 2021 do not grant this implicitly). Bound on that one account, not on the project.
resource "google_service_account_iam_member" "agent_mints_push_tokens" {
  service_account_id = var.pusher_id
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = var.pubsub_service_agent
}

# --- Alerting --------------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "dead_letters" {
  for_each = local.dead_letter_topics

  project      = var.project_id
  display_name = "Dead letters waiting on ${each.key}"
  combiner     = "OR"
  severity     = "ERROR"

  conditions {
    display_name = "Undelivered messages in ${google_pubsub_subscription.dead_letter_pull[each.key].name}"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter_pull[each.key].name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      Messages exhausted their delivery attempts and were moved to `${each.key}`.
      Pull them from the subscription `${each.key}--inspect` to see why (the function's logs
      hold the failures), fix the cause, republish them to the source topic, then ack them.
      Runbook: ${var.runbook_base_url == "" ? "docs/runbooks/dead-letters.md" : "${trimsuffix(var.runbook_base_url, "/")}/dead-letters.md"}
    EOT
  }
}
