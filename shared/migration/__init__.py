"""The move off Firestore: phases, the phase router, ownership moves and the operator tools.

The high layer: imported only by the composition root (shared/container.py), focusctl, the
scheduled jobs' entry points and the local stack; never by a capability nor by `shared.sql`.
Nothing is re-exported here, so importing one module never loads the others.
"""
