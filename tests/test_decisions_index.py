"""docs/DECISIONS.md keeps its index: every entry has an anchor and one row with a status, every link lands, and a
superseded entry says so where it stands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DECISIONS = Path(__file__).resolve().parents[1] / "docs" / "DECISIONS.md"
ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
ENTRY = re.compile(r'^(?:<a id="([^"]+)"></a>)?\*\*(.+?)\*\*', re.S)
ROW = re.compile(r"^\| \[.+?\]\(#([^)]+)\) \| (\d{4}-\d\d-\d\d) \| (.+) \|$", re.M)
LINK = re.compile(r"\]\(#([^)]+)\)")
STATUSES = ("current", "partly superseded by ", "superseded by ")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def split(text: str) -> tuple[str, list[str]]:
    """The index (everything before the first dated heading) and the blocks of the body after it."""
    start = re.search(r"^## \d{4}-", text, re.M)
    assert start, "no dated section"
    return text[:start.start()], re.split(r"\n\n+", text[start.start():])


def entries(blocks: list[str]) -> list[tuple[str | None, str, list[str]]]:
    """Each entry of the body: its anchor (None when missing), its bold lead, and the blocks that follow it up to
    the next entry or heading."""
    found: list[tuple[str | None, str, list[str]]] = []
    following: list[str] | None = None
    for block in blocks:
        match = ENTRY.match(block)
        if match:
            following = []
            found.append((match.group(1), " ".join(match.group(2).split()), following))
        elif block.startswith("#"):
            following = None
        elif following is not None:
            following.append(block)
    return found


@pytest.fixture(scope="module")
def text() -> str:
    return DECISIONS.read_text(encoding="utf-8")


def test_every_entry_has_an_anchor_and_one_row(text: str) -> None:
    index, blocks = split(text)
    rows = ROW.findall(index)
    indexed = [anchor for anchor, _, _ in rows]
    unanchored = [lead for anchor, lead, _ in entries(blocks) if anchor is None]
    assert not unanchored, f"entries without an <a id> anchor before their bold lead: {unanchored}"
    anchors = [anchor for anchor, _, _ in entries(blocks)]
    assert len(set(anchors)) == len(anchors), "two entries share an anchor"
    missing = [anchor for anchor in anchors if anchor not in indexed]
    assert not missing, f"entries with no row in the index at the top of DECISIONS.md: {missing}"
    twice = {anchor for anchor in indexed if indexed.count(anchor) > 1}
    assert not twice, f"entries indexed more than once: {twice}"
    bad = [(anchor, status) for anchor, _, status in rows if not status.startswith(STATUSES)]
    assert not bad, f"a status is 'current', 'partly superseded by ...' or 'superseded by ...': {bad}"


def test_every_link_lands(text: str) -> None:
    targets = set(ANCHOR.findall(text)) | {github_slug(line[3:]) for line in text.splitlines()
                                            if re.match(r"#{2,6} ", line)}
    dangling = sorted(set(LINK.findall(text)) - targets)
    assert not dangling, f"links to anchors that do not exist: {dangling}"


def test_a_superseded_entry_says_so_under_it(text: str) -> None:
    index, blocks = split(text)
    superseded = {anchor for anchor, _, status in ROW.findall(index) if "superseded by " in status}
    silent = [anchor for anchor, _, after in entries(blocks) if anchor in superseded
              and not any(re.match(r"\*(Partly s|S)uperseded by ", block) for block in after)]
    assert not silent, f"superseded entries with no '*Superseded by ...*' note under them: {silent}"
