"""`python -m devstack up` (the local stack) and `python -m devstack render-registry`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack", description="The local stack.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start everything in the foreground; Ctrl-C stops it")
    sub.add_parser(
        "render-registry", help="write the Terraform input and dashboards made from the registry"
    )
    args = parser.parse_args(argv)
    if args.command == "up":
        from devstack.process import StackError
        from devstack.stack import dev_config, run_foreground

        try:
            config = dev_config()
        except StackError as err:
            sys.stderr.write(f"error: {err}\n")
            return 2
        return run_foreground(config)
    from devstack.dashboards import render_dashboards
    from devstack.stack import ROOT
    from shared.registry import render_terraform_vars

    for env_dir in sorted((ROOT / "infra" / "environments").iterdir()):
        if env_dir.is_dir():
            (env_dir / "registry.auto.tfvars.json").write_text(render_terraform_vars())
    dashboards = ROOT / "infra" / "modules" / "monitoring" / "dashboards"
    for old in dashboards.glob("*.json"):
        old.unlink()
    for area, text in render_dashboards().items():
        (dashboards / f"{area}.json").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
