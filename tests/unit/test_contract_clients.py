"""The app models under clients/ are what quicktype makes of the contract document, and the
client-SDK test type-checks against them (node tools installed by `make install`)."""

from __future__ import annotations

import json
import subprocess

from contract import clients, document

TSC = document.ROOT / "node_modules" / ".bin" / "tsc"


def test_client_models_are_generated_from_the_document() -> None:
    texts = clients.generate(json.loads(document.DOCUMENT.read_text()))
    assert set(texts) == set(clients.TARGETS)
    for name, text in texts.items():
        assert (clients.CLIENTS / name).read_text() == text, (
            f"clients/{name} is stale: run `make contract` and commit it"
        )


def test_open_enums_reach_the_apps_as_strings() -> None:
    """`rejected[].code` may gain values (docs/API.md): no closed enum in the app models."""
    source = clients.quicktype_input(json.loads(document.DOCUMENT.read_text()))
    code = source["components"]["schemas"]["Rejection"]["properties"]["code"]
    assert code["type"] == "string" and "enum" not in code and "const" not in code
    swift = (clients.CLIENTS / "swift/FocusContract.swift").read_text()
    assert "let code: String" in swift


def test_client_sdk_test_typechecks_against_the_generated_types() -> None:
    run = subprocess.run(
        [str(TSC), "-p", "tests/client_sdk", "--noEmit"],
        cwd=document.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
