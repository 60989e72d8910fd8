output "topic_ids" {
  description = "Topic name => id, for every topic including dead-letter topics."
  value       = local.topic_ids
}

output "push_subscriptions" {
  description = "Pubsub function name => its push subscription."
  value       = { for fn, sub in google_pubsub_subscription.push : fn => sub.name }
}

output "dead_letter_subscriptions" {
  description = "Dead-letter topic => the pull subscription to inspect and replay from."
  value       = { for topic, sub in google_pubsub_subscription.dead_letter_pull : topic => sub.name }
}
