"""What a junk call costs before it is authenticated or parsed: the largest body a function
takes, of bytes no honest request holds, sent to the functions' real views in process (Flask
test client; no stack needed, since every one of these is refused before any backend call)."""

from __future__ import annotations

import statistics
import time

RUNS = 9
PROJECT, REGION = "demo-focus", "europe-west1"


def _cases() -> dict[str, tuple[str, bytes, dict[str, str]]]:
    from shared import registry

    sync = registry.function("syncFocusSessions").max_request_bytes
    token = {"Authorization": "Bearer not-checked-before-the-body"}
    return {
        "no token, 2 MiB of `[`": ("syncFocusSessions", b"[" * sync, {}),
        "token, 2 MiB of `[`": ("syncFocusSessions", b"[" * sync, token),
        "token, 2 MiB of `[]`": ("syncFocusSessions", b"[]" * (sync // 2), token),
        "token, 2 MiB string of brackets": (
            "syncFocusSessions",
            b'{"data": "' + b"[" * (sync - 12) + b'"}',
            token,
        ),
        "token, 2 MiB of escaped quotes and brackets": (
            "syncFocusSessions",
            b'{"data": "' + b'\\"[' * ((sync - 12) // 3) + b'"}',
            token,
        ),
        "token, 2 MiB + 1 byte": ("syncFocusSessions", b" " * (sync + 1), token),
    }


def measure() -> dict[str, tuple[float, int, str]]:
    """Median seconds, HTTP status and callable status per case."""
    import logging
    import os

    from devstack.functions_server import create_app

    # Tokens are checked as the local stack checks them (no network): the cost measured is ours.
    os.environ.setdefault("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9")
    os.environ.setdefault("GCLOUD_PROJECT", PROJECT)
    logging.disable(logging.CRITICAL)  # the SDK logs every refused token

    client = create_app(PROJECT, REGION).test_client()
    results = {}
    for name, (function, body, headers) in _cases().items():
        path = f"/{PROJECT}/{REGION}/{function}"
        samples = []
        for _ in range(RUNS):
            started = time.perf_counter()
            response = client.post(
                path, data=body, headers={**headers, "Content-Type": "application/json"}
            )
            samples.append(time.perf_counter() - started)
        status = (response.get_json(silent=True) or {}).get("error", {}).get("status", "?")
        results[name] = (statistics.median(samples), response.status_code, status)
    return results


def run() -> str:
    lines = [
        "## Junk before authentication",
        "",
        f"The largest body a function takes (`syncFocusSessions`: 2 MiB), of junk, through the "
        f"functions' real views in process; median of {RUNS}. Target: under 50 ms each "
        "(before: a 9 MiB body with no token took 8.0 s of CPU to reach 401). A body that is "
        "valid JSON is parsed twice, by our check (which answers INVALID_ARGUMENT where the SDK "
        "would answer INTERNAL) and by the SDK; a string of escapes is the slowest to parse.",
        "",
        "| body | median | answer |",
        "|---|---|---|",
    ]
    for name, (seconds, http, status) in measure().items():
        lines.append(f"| {name} | {seconds * 1000:.1f} ms | {http} {status} |")
    return "\n".join(lines)
