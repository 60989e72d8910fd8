"""firebase.json tells the truth about the deployable source: `firebase deploy --only functions`
deploys what `make package` assembles (functions/ with the `shared` package beside main.py), and
runs `make package` first, so it never uploads a tree whose imports cannot resolve."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_firebase_deploys_the_packaged_source_and_packages_it_first() -> None:
    (functions,) = json.loads((ROOT / "firebase.json").read_text())["functions"]
    makefile = (ROOT / "Makefile").read_text()
    package_recipe = re.search(r"^package:\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert package_recipe is not None
    filled = re.search(r"mkdir -p (\S+)", package_recipe.group(1))
    assert filled is not None
    assert functions["source"] == filled.group(1)  # the directory it fills
    assert functions["predeploy"] == ["make package"]
    # What main.py imports must be inside that source: the packaging copies these beside it.
    for needed in ("functions", "shared", "functions/main.py", "functions/requirements.txt"):
        assert needed in package_recipe.group(1), needed
