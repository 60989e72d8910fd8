#!/usr/bin/env bash
# Prints the path of a Python 3.12 interpreter (the Cloud Functions runtime we deploy on).
# Looks on PATH first, then in pyenv's versions, so a machine with pyenv shims works too.
set -euo pipefail
for candidate in python3.12 "${HOME}"/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do
  if path=$(command -v "$candidate" 2>/dev/null) && "$path" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
echo "error: Python 3.12 not found (install it, e.g. with pyenv, or set PYTHON=/path/to/python3.12)" >&2
exit 1
