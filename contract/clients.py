"""Typed models for the apps, generated from the contract document with quicktype (npm).

Swift (Codable), Kotlin (kotlinx.serialization) and TypeScript (the client-SDK tests' types) go to
`clients/`. quicktype reads the document's component schemas; an answered enum that docs/API.md
keeps open (`x-open-enum`) is handed over as a plain string, so that an app decodes a value it
does not know yet instead of failing.
"""

from __future__ import annotations

import copy
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from contract.document import ROOT
from contract.gate import OPEN_ENUM

QUICKTYPE = ROOT / "node_modules" / ".bin" / "quicktype"
CLIENTS = ROOT / "clients"
HEADER = "Generated from docs/api/openapi.json by `make contract` (quicktype). Do not edit."

# path under clients/ -> quicktype options
TARGETS: dict[str, list[str]] = {
    "swift/FocusContract.swift": [
        "--lang",
        "swift",
        "--access-level",
        "public",
        "--protocol",
        "equatable",
    ],
    "kotlin/FocusContract.kt": [
        "--lang",
        "kotlin",
        "--framework",
        "kotlinx",
        "--package",
        "app.focus.contract",
    ],
    "typescript/contract.ts": ["--lang", "typescript", "--just-types", "--no-date-times"],
}


def quicktype_input(document: dict[str, Any]) -> dict[str, Any]:
    """The document's schemas as quicktype reads them: open enums relaxed to strings."""
    schemas = copy.deepcopy(document["components"]["schemas"])

    def relax(node: Any) -> None:
        if isinstance(node, dict):
            if node.get(OPEN_ENUM):
                known = node.pop("enum", None) or [node.pop("const", None)]
                lead = f"{node['description']}. " if "description" in node else ""
                node["description"] = (
                    f"{lead}Known values: {', '.join(map(str, known))}; more may come, and for "
                    f"one it does not know {node[OPEN_ENUM]}."
                )
            for value in node.values():
                relax(value)
        elif isinstance(node, list):
            for value in node:
                relax(value)

    relax(schemas)
    return {"components": {"schemas": schemas}}


def generate(document: dict[str, Any]) -> dict[str, str]:
    """Every client file's text, by its path under clients/ (quicktype runs in parallel)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "contract.json"
        source.write_text(json.dumps(quicktype_input(document), sort_keys=True))
        running = {
            name: subprocess.Popen(  # noqa: S603 - our own pinned tool, fixed arguments
                [
                    str(QUICKTYPE),
                    "--src-lang",
                    "schema",
                    f"{source}#/components/schemas/",
                    *options,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, options in TARGETS.items()
        }
        texts = {}
        for name, process in running.items():
            out, err = process.communicate(timeout=120)
            if process.returncode != 0:
                raise RuntimeError(f"quicktype failed for {name}: {err.strip()}")
            texts[name] = f"// {HEADER}\n\n{out}"
    return texts


def write(texts: dict[str, str]) -> None:
    for name, text in texts.items():
        path = CLIENTS / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
