# Who may create and delete tasks where: each function on the queues (shards) the registry names
# for it (`task_queues`), never roles/cloudtasks.enqueuer or taskDeleter on the project.

variable "queue_grants" {
  description = "\"<function> <role> <queue>\" => { queue, role, member }: Cloud Tasks roles per queue."
  type = map(object({
    queue  = string
    role   = string
    member = string
  }))
  default = {}
}

resource "google_cloud_tasks_queue_iam_member" "function" {
  for_each = var.queue_grants

  project  = var.project_id
  location = var.region
  name     = google_cloud_tasks_queue.queue[each.value.queue].name
  role     = each.value.role
  member   = each.value.member
}
