"""The README is a newcomer's entry that fits on a few screens, and every document it points to exists."""

from __future__ import annotations

import re

from energy_pipeline.orchestration.settings import PROJECT_ROOT

DOCUMENTS = [
    PROJECT_ROOT / "README.md",
    *sorted((PROJECT_ROOT / "docs").glob("*.md")),
    PROJECT_ROOT / "bench/README.md",
]


def test_the_readme_stays_short() -> None:
    assert len((PROJECT_ROOT / "README.md").read_text().splitlines()) <= 200


def test_every_relative_link_of_the_docs_resolves() -> None:
    broken = []
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text()):
            if not target.startswith(("http://", "https://")) and not (document.parent / target).exists():
                broken.append(f"{document.relative_to(PROJECT_ROOT)} -> {target}")
    assert broken == []
