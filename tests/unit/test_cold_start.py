"""What a deployed instance loads before its first request, and what deploy discovery sees.

A deployed instance serves one function, found in functions/main.py by its plain name
(`FUNCTION_TARGET`); importing main and fetching that name must load neither the
firebase-functions SDK nor what it pulls in (Flask, firebase_admin, google.auth), nor the Google
clients or pydantic: those load with the first request that needs them. Import time itself is a
benchmark (benchmarks/cold_import.py), never an assertion; the modules are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared import registry

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "flask",
    "werkzeug",
    "firebase_admin",
    "firebase_functions",
    "functions_framework",
    "google.auth",
    "google.cloud",
    "google.api_core",
    "grpc",
    "pydantic",
    "sqlalchemy",
)


def _run(code: str, cwd: Path = ROOT, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**{k: v for k, v in os.environ.items() if k != "FUNCTION_TARGET"}, **env},
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("name", sorted(fn.name for fn in registry.FUNCTIONS))
def test_a_deployed_instance_loads_no_sdk_before_its_first_request(name: str) -> None:
    code = (
        "import json, os, sys\n"
        "start = set(sys.modules)  # the interpreter's own (namespace packages by .pth files)\n"
        "import functions.main as main\n"
        "fn = getattr(main, os.environ['FUNCTION_TARGET'])\n"
        f"heavy = {HEAVY!r}\n"
        "loaded = sorted(m for m in set(sys.modules) - start\n"
        "                if any(m == h or m.startswith(h + '.') for h in heavy))\n"
        "print(json.dumps({'callable': callable(fn), 'loaded': loaded}))\n"
    )
    out = json.loads(_run(code, FUNCTION_TARGET=name))
    assert out == {"callable": True, "loaded": []}


def test_deploy_discovery_sees_every_function_under_its_own_name() -> None:
    """The Firebase CLI's discovery (firebase_functions.private.serving), run as the CLI runs it:
    main.py loaded from its own directory, every function with a manifest entry."""
    code = (
        "import json\n"
        "from firebase_functions.private import serving\n"
        "found = serving.get_functions()\n"
        "print(json.dumps({name: [fn.__firebase_endpoint__.entryPoint,\n"
        "    fn.__firebase_endpoint__.callableTrigger is not None,\n"
        "    fn.__firebase_endpoint__.httpsTrigger is not None] for name, fn in found.items()}))\n"
    )
    found = json.loads(_run(code, cwd=ROOT / "functions"))
    expected = {
        fn.name: [fn.name, fn.kind == "callable", fn.kind != "callable"]
        for fn in registry.FUNCTIONS
    }
    assert found == expected
