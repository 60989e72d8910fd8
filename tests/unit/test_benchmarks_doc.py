"""docs/BENCHMARKS.md: each benchmark writes only its own section, and none is ever lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.__main__ import MEASURED, OUTPUT, SECTIONS, SectionError, merge, sections

ORDER = list(SECTIONS)
MACHINE = "2 cores (AMD EPYC), 24 GiB RAM, Linux 6.1, Python 3.12.1"


def body(title: str, stamp: str = "2026-11-22 10:00") -> str:
    return f"## {title}\n\n| a | b |\n|---|---|\n\n_Measured {stamp} UTC on {MACHINE}._\n"


def doc(*names: str, trailing_newline: bool = True) -> str:
    parts = ["# Benchmarks\n", "Intro.\n", "Last written at commit `aaaaaaa`.\n"]
    parts += [f"<!-- bench:{n} -->\n{body(n)}<!-- /bench:{n} -->\n" for n in names]
    text = "\n".join(parts)
    return text if trailing_newline else text.rstrip("\n")


def section_text(text: str, name: str) -> str:
    start, end = sections(text)[name]
    return text[start:end]


def test_a_rerun_replaces_its_own_section_and_keeps_every_other_byte() -> None:
    before = doc("cold_import", "sync", "push", "mirror")
    after = merge(before, {"mirror": body("mirror", "2026-12-01 08:00")}, ORDER, "bbbbbbb")
    assert "2026-12-01 08:00" in section_text(after, "mirror")
    assert "Last written at commit `bbbbbbb`." in after
    # Everything before the mirror section is untouched, byte for byte.
    cut = after.index("<!-- bench:mirror -->")
    assert after[:cut] == before[:cut].replace("aaaaaaa", "bbbbbbb")


def test_sections_it_does_not_know_or_did_not_run_are_kept() -> None:
    """What the lost silent-push section went through: a writer rebuilding the file from the
    sections it knows, or that its pattern happened to match, drops the rest."""
    before = doc("cold_import", "legacy", "sync", "push", trailing_newline=False)
    after = merge(before, {"mirror": body("mirror")}, ORDER, "bbbbbbb")
    for name in ("cold_import", "legacy", "sync", "push"):
        assert section_text(after, name) == section_text(before, name)
    assert list(sections(after)) == ["cold_import", "legacy", "sync", "push", "mirror"]


def test_a_missing_section_is_added_in_its_place() -> None:
    after = merge(doc("cold_import", "sync", "mirror"), {"push": body("push")}, ORDER, "c")
    assert list(sections(after)) == ["cold_import", "sync", "push", "mirror"]
    first = merge(doc("sync"), {"cold_import": body("cold_import")}, ORDER, "c")
    assert list(sections(first)) == ["cold_import", "sync"]
    fresh = merge("", {"sync": body("sync")}, ORDER, "c")
    assert fresh.startswith("# Benchmarks\n") and list(sections(fresh)) == ["sync"]


@pytest.mark.parametrize(
    "broken",
    [
        doc("sync").replace("<!-- /bench:sync -->\n", ""),  # never closed
        doc("sync") + "<!-- /bench:push -->\n",  # closes nothing
        doc("sync", "sync"),  # twice
        doc("sync").replace("<!-- /bench:sync -->", "<!-- bench:push -->\n<!-- /bench:sync -->"),
    ],
)
def test_markers_that_do_not_pair_up_stop_the_write(broken: str) -> None:
    with pytest.raises(SectionError):
        merge(broken, {"push": body("push")}, ORDER, "c")


def test_a_body_cannot_smuggle_in_markers() -> None:
    with pytest.raises(SectionError):
        merge(doc("sync"), {"push": "<!-- /bench:push -->\n"}, ORDER, "c")


def test_the_committed_file_has_every_section_with_the_machine_it_ran_on() -> None:
    text = Path(OUTPUT).read_text()
    found = sections(text)
    assert list(found) == ORDER, "every benchmark has its section, in order"
    for name, (start, end) in found.items():
        assert MEASURED.search(text[start:end]), f"section {name} does not name its machine"
