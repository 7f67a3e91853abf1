from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import InputError
from rag.loaders import LoadOptions, load_file
from rag.models import Document

MAX = 10_000_000


def load_one(path: Path, kind: str | None = None) -> Document:
    items = list(load_file(path, "auto", LoadOptions(kind=kind), MAX))  # type: ignore[arg-type]
    assert len(items) == 1
    assert isinstance(items[0], Document), items[0]
    return items[0]


def load_error(path: Path, kind: str | None = None) -> str:
    with pytest.raises(InputError) as caught:
        list(load_file(path, "auto", LoadOptions(kind=kind), MAX))  # type: ignore[arg-type]
    assert caught.value.source.startswith(str(path))
    return caught.value.reason


def test_front_matter_fields_and_sections(tmp_path: Path) -> None:
    path = tmp_path / "trial.md"
    path.write_text(
        "---\nid: smith-2020-trial\nkind: study\ntitle: 'A trial: PRP for scars'\njournal: J Test\nyear: 2020\n"
        "pmid: 12345\ndoi: 10.1000/xyz.1\nstudy_design: rct\nevidence_level: 2\nsample_size: 40\n"
        "authors: [Smith J, Doe A]\ntopics: [scars]\nprovenance: written for a test\n---\n"
        "# A trial\n\nLead paragraph.\n\n## Design\nSplit-face.\n\n## Results\nBetter on the PRP side.\n### Detail\nMore.\n",
        encoding="utf-8",
    )
    doc = load_one(path)
    assert doc.id == "smith-2020-trial" and doc.kind == "study"
    assert doc.meta.title == "A trial: PRP for scars"
    assert doc.meta.pmid == "12345" and doc.meta.year == 2020 and doc.meta.authors == ("Smith J", "Doe A")
    assert [s.title for s in doc.sections] == ["Summary", "Design", "Results"]
    texts = [doc.text[s.start : s.end] for s in doc.sections]
    assert texts == ["Lead paragraph.", "Split-face.", "Better on the PRP side.\n### Detail\nMore."]


def test_without_front_matter_needs_kind_and_takes_id_from_name(tmp_path: Path) -> None:
    path = tmp_path / "My Notes.md"
    path.write_text("# Heading title\n\nSome text.\n", encoding="utf-8")
    assert "kind" in load_error(path)
    doc = load_one(path, kind="guideline")
    assert (doc.id, doc.kind, doc.meta.title) == ("my-notes", "guideline", "Heading title")


def test_kind_option_conflicting_with_front_matter_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\nid: a1\nkind: study\ntitle: T\n---\nText.\n", encoding="utf-8")
    assert "kind 'study'" in load_error(path, kind="guideline")


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ("kind: study\ntitle: T", "field 'id' is required"),
        ("id: x1\nkind: study", "field 'title' is required"),
        ("id: x1\nkind: review\ntitle: T", "field 'kind'"),
        ("id: x1\nkind: study\ntitle: T\nyear: twenty", "field 'year'"),
        ("id: x1\nkind: study\ntitle: T\nyaer: 2020", "field 'yaer' is not a known field"),
        ("id: x1\nkind: study\ntitle: T\npmid: PM123", "field 'pmid'"),
        ("id: x1\nkind: study\ntitle: T\nstudy_design: anecdote", "field 'study_design'"),
        ("id: 'bad id!'\nkind: study\ntitle: T", "field 'id'"),
        ("id: x1\nkind: study\ntitle: [unclosed", "not valid YAML"),
        ("id: x1\nkind: study\ntitle: T\nnotes: [not, a, string]", "field 'notes'"),
        ("id: x1\nkind: study\ntitle: T\nretracted: perhaps", "field 'retracted'"),
        ("- a\n- b", "mapping"),
        ("id: x1\nkind: study\ntitle: T\nnotes: >-\n  First.\nnotes: >-\n  First.", "repeats the field 'notes' (lines 5 and 7)"),
    ],
)
def test_bad_front_matter_names_the_field(tmp_path: Path, front: str, expected: str) -> None:
    path = tmp_path / "bad.md"
    path.write_text(f"---\n{front}\n---\nBody text.\n", encoding="utf-8")
    assert expected in load_error(path)


def test_unclosed_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "open.md"
    path.write_text("---\nid: x\nkind: study\n\nno closing line\n", encoding="utf-8")
    assert "closing" in load_error(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (bytes(range(256)) * 20, "binary"),
        ("---\nid: x\nkind: study\ntitle: Caf\xe9\n---\nText".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_unreadable_content(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "junk.md"
    path.write_bytes(content)
    assert expected in load_error(path)


def test_body_without_text_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty-body.md"
    path.write_text("---\nid: x1\nkind: study\ntitle: T\n---\n\n## Results\n\n", encoding="utf-8")
    assert "no text" in load_error(path)


def test_plain_text_file(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Short title line\nThe body of the note.\n", encoding="utf-8")
    doc = load_one(path, kind="study")
    assert (doc.id, doc.meta.title) == ("note", "Short title line")
    assert doc.text.startswith("Short title line")
