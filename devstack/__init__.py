"""The local stack: emulators, PostgreSQL, FCM stand-in, Tasks emulator and functions on loopback.

Not deployed. `python -m devstack up` is what `make dev` runs; tests start the same stack on
free ports through `devstack.stack.Stack`.
"""
