"""Format detection, folder walks, size limits, gzip, and PDF files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from rag.errors import InputError
from rag.loaders import LoadOptions, detect_format, discover, load_file, read_source
from rag.models import Document


def make_pdf(pages: list[str], title: str | None = None) -> bytes:
    """A small valid PDF with one line of Helvetica text per page (offsets computed, no library needed)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        page_number = len(objects) + 1
        kids.append(f"{page_number} 0 R")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {page_number + 1} 0 R "
                       "/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>")
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content.decode()}\nendstream")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    info = None
    if title:
        objects.append(f"<< /Title ({title}) >>")
        info = len(objects)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R" + (f" /Info {info} 0 R" if info else "") + " >>"
    out += f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_pdf_pages_become_sections(tmp_path: Path) -> None:
    path = tmp_path / "Guideline Report.pdf"
    path.write_bytes(make_pdf(["First page text.", "Second page text."], title="Report title"))
    (doc,) = load_file(path, "auto", LoadOptions(kind="guideline"), 10**7)
    assert isinstance(doc, Document)
    assert (doc.id, doc.kind, doc.meta.title) == ("guideline-report", "guideline", "Report title")
    assert [s.title for s in doc.sections] == ["Page 1", "Page 2"]
    assert "Second page text." in doc.text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (make_pdf(["Text here."])[:200], "damaged or truncated"),
        (b"not a pdf at all", "not a PDF"),
        (make_pdf([""]), "no extractable text"),
    ],
)
def test_unusable_pdfs(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.pdf"
    path.write_bytes(content)
    with pytest.raises(InputError, match=expected):
        list(load_file(path, "pdf", LoadOptions(kind="study"), 10**7))


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("a.md", b"---", "markdown"),
        ("a.txt", b"x", "text"),
        ("a.pdf", b"%PDF-1.4", "pdf"),
        ("noext", b"%PDF-1.7", "pdf"),
        ("a.xml", b'<?xml version="1.0"?>\n<!DOCTYPE x>\n<PubmedArticleSet>', "pubmed-xml"),
        ("a.nxml", b"<article>", "jats"),
        ("a.xml", b"<pmc-articleset><article>", "jats"),
        ("a.jsonl", b'{"doc_id": 1, "title": "t", "abstract": []}', "scifact"),
        ("a.jsonl", b'{"ngc_id": 1, "title": "t", "major_recommendations": ""}', "ngc"),
        ("a.jsonl", b'{"id": "x", "kind": "study"}', "jsonl"),
        ("a.json", b'{"1": {"QUESTION": "q", "CONTEXTS": []}}', "pubmedqa"),
        ("a.jsonl.gz", b'{"id": "x"}', "jsonl"),
    ],
)
def test_detect_format(name: str, head: bytes, expected: str) -> None:
    assert detect_format(Path(name), head) == expected


@pytest.mark.parametrize(("name", "head"), [("a.json", b'{"a": 1}'), ("a.docx", b"PK"), ("a.xml", b"<html>")])
def test_unknown_formats_are_clear_errors(name: str, head: bytes) -> None:
    with pytest.raises(InputError, match="--format|unrecognised|unsupported"):
        detect_format(Path(name), head)


def test_discover_walks_sorted_and_skips_hidden_readme_and_unknown(tmp_path: Path) -> None:
    for relative in ["b.md", "a/c.jsonl", "README.md", ".hidden.md", ".git/x.md", "notes.docx", "a/d.pdf"]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    found = list(discover([tmp_path, tmp_path / "missing.md", tmp_path / "README.md"]))
    paths = [p.relative_to(tmp_path).as_posix() for p in found if isinstance(p, Path)]
    errors = [e for e in found if isinstance(e, InputError)]
    assert paths == ["a/c.jsonl", "a/d.pdf", "b.md", "README.md"], "a README named explicitly is loaded"
    assert len(errors) == 1 and "no such file" in errors[0].reason


def test_size_limit_and_gzip(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 2_000)
    with pytest.raises(InputError, match="above the 0.001 MB limit"):
        read_source(big, 1_000)
    packed = tmp_path / "docs.jsonl.gz"
    record = {"id": "z1", "kind": "study", "title": "Zipped", "text": "Inside a gzip file."}
    packed.write_bytes(gzip.compress(json.dumps(record).encode()))
    (doc,) = load_file(packed, "auto", LoadOptions(), 10**6)
    assert isinstance(doc, Document) and doc.id == "z1"
    bomb = tmp_path / "bomb.jsonl.gz"
    bomb.write_bytes(gzip.compress(b" " * 50_000))
    with pytest.raises(InputError, match="unpacks to more than"):
        read_source(bomb, 10_000)
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b"x" * 1000)[:20])
    with pytest.raises(InputError, match="cannot read"):
        read_source(broken, 10_000)
