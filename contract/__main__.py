"""`python -m contract build|gate`: regenerate the contract, or compare it with the baseline.

build   docs/api/openapi.json from the wire models (validated with openapi-spec-validator),
        then the app models under clients/ from it (quicktype)
gate    list what the current models would break for apps built against
        docs/api/v1.baseline.json; exit status 1 if anything
"""

from __future__ import annotations

import json
import sys

from openapi_spec_validator import validate

from contract import clients, document, gate


def build() -> int:
    built = document.build()
    validate(built)
    document.DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    document.DOCUMENT.write_text(document.render(built))
    clients.write(clients.generate(built))
    print(f"wrote {document.DOCUMENT.relative_to(document.ROOT)} and clients/")
    return 0


def check() -> int:
    baseline = json.loads(document.BASELINE.read_text())
    breaks = gate.compare(baseline, document.build())
    for found in breaks:
        print(found)
    if breaks:
        print(f"{len(breaks)} breaking change(s) against {document.BASELINE.name}; see docs/API.md")
        return 1
    print(f"no breaking change against {document.BASELINE.name}")
    return 0


def main(argv: list[str]) -> int:
    commands = {"build": build, "gate": check}
    if len(argv) != 1 or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
