"""Benchmarks (`make bench`): each module's `run()` returns a Markdown section.

`python -m benchmarks` runs them all, `python -m benchmarks NAME ...` only those. Each run
replaces its own section of docs/BENCHMARKS.md in place, stamped with when and on which machine
it was measured; every other section is kept byte for byte (a file whose section markers do not
pair up is refused rather than rewritten). No test asserts on a timing.
"""
