"""`python -m benchmarks.load [--users N] [--concurrency N] [--seed N] [--max-seconds S]
[--stack-file .local/stack.json] [--no-drain]`: one load run, its report on stdout.

Without `--stack-file` the run starts a local stack of its own on free ports (and stops it);
with it, the users play against that running stack (`make dev`), whose functions' CPU time is
then not read.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from benchmarks.load import report
from benchmarks.load.meter import Target
from benchmarks.load.run import run_load


@contextlib.contextmanager
def _target(stack_file: str | None) -> Iterator[Target]:
    if stack_file:
        from benchmarks.load.target import from_descriptor

        yield from_descriptor(Path(stack_file))
        return
    from benchmarks.load.target import own_stack

    with own_stack() as target:
        yield target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=None, help="default: --users")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--stack-file", default=None)
    parser.add_argument("--no-drain", action="store_true", help="do not wait for the pushes")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 5000:
        parser.error("--users must be 1..5000")
    with _target(args.stack_file) as target:
        result = run_load(
            target,
            users=args.users,
            concurrency=args.concurrency or args.users,
            seed=args.seed,
            max_seconds=args.max_seconds,
            drain=not args.no_drain,
            show_progress=sys.stderr.isatty(),
        )
    out = [
        report.summary_line(result),
        "",
        *report.counts_table([result]),
        "",
        *report.invocations_table([result]),
        "",
        *report.latency_table([result]),
        "",
        *report.cost_table(result),
    ]
    print("\n".join(out))
    return 1 if result.unexpected_errors() or result.failed_users else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
