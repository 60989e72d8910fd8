"""The contract document against the real functions: every example request, sent for a new user,
is answered with what the document describes; errors have the documented envelope; and a call
through the Firebase JS SDK, typed with the generated TypeScript models, works."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from contract import document
from contract.examples import ERRORS, EXAMPLES
from devstack.stack import Stack
from tests.support.auth import sign_up
from tests.support.callables import FunctionsClient

pytestmark = pytest.mark.stack


@cache
def checked_in() -> dict[str, Any]:
    return json.loads(document.DOCUMENT.read_text())


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(
        {**schema, "components": checked_in()["components"]}, format_checker=FormatChecker()
    )


def result_validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        document.schema_of(checked_in(), name, "result"), format_checker=FormatChecker()
    )


def test_every_example_is_answered_as_the_document_says(
    functions_client: FunctionsClient, auth_host: str, clean_stack: Stack
) -> None:
    user = sign_up(auth_host)
    for name, example in EXAMPLES.items():  # in order: deleteAccount comes last
        answer = functions_client.call(name, example["request"], user.id_token)
        assert answer.status == 200, (name, answer.body)
        errors = [e.message for e in result_validator(name).iter_errors(answer.result)]
        assert not errors, (name, errors, answer.result)
        # The document's example answer has the shape of the real one.
        assert sorted(answer.result) == sorted(example["result"]), name


def test_errors_have_the_documented_envelope(
    functions_client: FunctionsClient, auth_host: str, clean_stack: Stack
) -> None:
    envelope = validator({"$ref": "#/components/schemas/CallableError"})
    user = sign_up(auth_host)
    answers = [
        functions_client.call("bootstrapAccount", {"timezone": "Not/AZone"}, user.id_token),
        functions_client.call("listSchedules", {}),
        functions_client.call("deleteAccount", {"confirm": False}, user.id_token),
        functions_client.call("listSchedules", None, user.id_token, raw_body=b"[]"),
    ]
    assert [(a.status, a.error_status) for a in answers] == [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (400, "INVALID_ARGUMENT"),
        (400, "INVALID_ARGUMENT"),
    ]
    for answer in answers:
        errors = [e.message for e in envelope.iter_errors(answer.body)]
        assert not errors, (answer.body, errors)
    for name, refused in ERRORS.items():  # the document's error examples, as answered
        answer = functions_client.call(name, refused["request"], user.id_token)
        assert answer.body == refused["answer"], name


@pytest.fixture
def compiled_sdk_test(repo_root: Path) -> Iterator[Path]:
    out = repo_root / ".local" / f"client-sdk-{os.getpid()}"
    tsc = repo_root / "node_modules" / ".bin" / "tsc"
    subprocess.run(
        [str(tsc), "-p", "tests/client_sdk", "--outDir", str(out)],
        cwd=repo_root,
        check=True,
        timeout=120,
    )
    yield out / "tests" / "client_sdk" / "bootstrap_call.js"
    shutil.rmtree(out, ignore_errors=True)


def test_a_typed_call_through_the_firebase_js_sdk(
    compiled_sdk_test: Path, clean_stack: Stack
) -> None:
    env = {
        **os.environ,
        "FOCUS_PROJECT": clean_stack.config.project_id,
        "FOCUS_REGION": clean_stack.config.region,
        "FOCUS_AUTH_HOST": f"127.0.0.1:{clean_stack.ports.auth}",
        "FOCUS_FUNCTIONS_HOST": "127.0.0.1",
        "FOCUS_FUNCTIONS_PORT": str(clean_stack.ports.functions),
    }
    run = subprocess.run(
        ["node", str(compiled_sdk_test)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    printed = json.loads(run.stdout.strip().splitlines()[-1])
    assert printed["created"] is True
    assert printed["locale"] == "fr-FR"
    assert printed["createdAt"].endswith("Z")
