"""Benchmarks (`make bench`): each module's `run()` returns a Markdown section.

`python -m benchmarks` runs them all and rewrites docs/BENCHMARKS.md; `python -m benchmarks NAME
...` reruns only those sections and keeps the others as they were. Figures are measured on the
machine named at the top of the file; no test asserts on a timing.
"""
