"""Entry-point plumbing, one module per trigger kind: `callable` (the apps' functions, the
Firebase callable protocol), `pubsub` (Pub/Sub push targets and scheduled jobs), `http` (plain
HTTP functions: Cloud Tasks targets); `options` holds the deploy options they share.

functions/ declares its handlers with these and nothing else of the plumbing.
"""
