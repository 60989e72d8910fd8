# Derived from the variables alone (no resource in sight), so tests evaluate these with Terraform
# itself, without a provider, against a richer registry than the real one.

locals {
  # A dead-letter topic may be shared by several topics, or be a registry topic itself (then it
  # is created as a topic, not again as a dead-letter topic).
  dead_letter_topics      = toset(compact([for topic in var.topics : topic.dead_letter_topic]))
  extra_dead_letter_names = setsubtract(local.dead_letter_topics, keys(var.topics))

  dead_lettered_subscriptions = {
    for fn, sub in var.push_subscriptions : fn => sub
    if var.topics[sub.topic].dead_letter_topic != null
  }
}
