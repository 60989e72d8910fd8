"""Entry-point plumbing, one module per trigger kind: `callable` (the apps' functions, the
Firebase callable protocol), `pubsub` (Pub/Sub push targets and scheduled jobs), `http` (plain
HTTP functions: Cloud Tasks targets); `options` holds the deploy options they share and
attaches the manifest entries deploy discovery reads (not in a deployed instance, which
loads the firebase-functions SDK only with the first request that needs it).

functions/ declares its handlers with these and nothing else of the plumbing.
"""
