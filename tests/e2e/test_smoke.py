"""The deploy pipeline's smoke test (`focusctl smoke`), run here against the local stack the
same way the pipeline runs it against staging: a subprocess, one throwaway user, every callable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.stack import Stack
from shared import registry

pytestmark = pytest.mark.stack


def _smoke(stack: Stack, tmp_path: Path, base_url: str) -> subprocess.CompletedProcess[str]:
    descriptor = tmp_path / "stack.json"
    descriptor.write_text(json.dumps(stack.descriptor()))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    return subprocess.run(
        [
            *(sys.executable, "-m", "focusctl.cli", "--stack-file", str(descriptor)),
            *("smoke", "--base-url", base_url),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )


def test_smoke_calls_every_callable_and_passes(stack: Stack, tmp_path: Path) -> None:
    result = _smoke(stack, tmp_path, stack.functions_base_url)
    assert result.returncode == 0, result.stdout + result.stderr
    called = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("ok")}
    callables = {fn.name for fn in registry.FUNCTIONS if fn.kind == "callable"}
    assert called == callables


def test_smoke_fails_when_a_function_does_not_answer(stack: Stack, tmp_path: Path) -> None:
    result = _smoke(stack, tmp_path, f"{stack.functions_base_url}/nowhere")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "smoke test failed" in result.stderr
