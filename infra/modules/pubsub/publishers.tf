# Who may publish where: each function on the topics the registry names for it (`publishes`),
# never roles/pubsub.publisher on the project, with which any function could publish into any
# topic (a forged AccountErased into mirror-changes, a flood of sweep ticks).

variable "publishers" {
  description = "\"<function> <topic>\" => { topic, member }: publisher grants per topic."
  type = map(object({
    topic  = string
    member = string
  }))
  default = {}
}

resource "google_pubsub_topic_iam_member" "function_publishes" {
  for_each = var.publishers

  project = var.project_id
  topic   = local.topic_ids[each.value.topic]
  role    = "roles/pubsub.publisher"
  member  = each.value.member
}
