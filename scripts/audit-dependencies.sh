#!/usr/bin/env bash
# Vulnerability audit of the lock (every package of every environment, pinned with hashes) with
# pip-audit. Run by the deploy pipeline, which reaches the advisory database; advisories accepted
# on purpose are listed in pip-audit-allowlist.txt (one id a line, with the reason and a date to
# look again). Exits non-zero on any other known vulnerability.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .local/audit
.local/audit/bin/pip install --quiet --disable-pip-version-check 'pip-audit==2.10.1'
ignores=()
while read -r id _; do
  ignores+=(--ignore-vuln "$id")
done < <(grep -v '^\s*#' pip-audit-allowlist.txt | grep -v '^\s*$' || true)
.local/audit/bin/pip-audit --strict --require-hashes --disable-pip -r requirements.lock "${ignores[@]}"
