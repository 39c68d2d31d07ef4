"""Every relative link in the project's Markdown leads to a file, and every #anchor to a heading in it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted([*ROOT.glob("*.md"), *(p for d in ("docs", "deploy", "examples", "tools", "tests", "terminology",
                                                      "cards", "cds_service") for p in (ROOT / d).rglob("*.md"))])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)


def anchors(path: Path) -> set[str]:
    """GitHub's heading ids (lower case, punctuation but hyphens dropped, spaces as hyphens) and `<a id>`s."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    return ({re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
            | set(re.findall(r'<a id="([^"]+)"', text)))


def links(path: Path) -> list[str]:
    return [t for t in LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8")))
            if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    broken = []
    for target in links(doc):
        name, _, anchor = target.partition("#")
        path = (doc.parent / name).resolve() if name else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no such heading")
    assert not broken, broken


def test_the_anchor_rule() -> None:
    assert anchors(ROOT / "docs" / "api.md") >= {"fhir-queries-the-service-sends", "when-cards-appear", "errors"}
