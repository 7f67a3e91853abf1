"""The loader contract every fuzz input is held to: well-formed documents, or the project's InputError naming the file.

Any other exception escaping a loader is a crash; so is a document that later stages cannot store (text that is
empty, sections outside or overlapping the text, text that cannot be written as UTF-8).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.errors import InputError
from rag.loaders.base import Loader, LoadOptions
from rag.models import Document


class ContractViolation(AssertionError):
    """A loader or the answer parser returned something the rest of the system cannot rely on."""


@dataclass(frozen=True)
class LoaderInput:
    """One generated source: the bytes, the file name they are loaded under and the ``--kind`` given."""

    raw: bytes
    name: str
    options: LoadOptions

    @property
    def path(self) -> Path:
        return Path("fuzz") / self.name


def check_loader(loader: Loader, item: LoaderInput) -> list[Document]:
    """Run ``loader`` on the input and check the contract; returns the documents it loaded."""
    path = item.path
    try:
        results = list(loader(path, item.raw, item.options))
    except InputError as error:
        check_error(error, path)
        return []
    documents = []
    for result in results:
        if isinstance(result, InputError):
            check_error(result, path)
        elif isinstance(result, Document):
            check_document(result, path)
            documents.append(result)
        else:
            raise ContractViolation(f"a loader yielded {type(result).__name__}, neither a Document nor an InputError")
    return documents


def check_error(error: InputError, path: Path) -> None:
    """An error names the file (and record) it is about, and says why."""
    if not error.source.startswith(str(path)):
        raise ContractViolation(f"the error does not name the file: {error.source!r}")
    if not error.reason.strip():
        raise ContractViolation("the error gives no reason")


def check_document(document: Document, path: Path) -> None:
    """Text to index, sections in order inside it, each one trimmed and non-empty, all of it storable as UTF-8."""
    if not document.source.startswith(str(path)):
        raise ContractViolation(f"the document's source does not name the file: {document.source!r}")
    if not document.text.strip() or not document.sections:
        raise ContractViolation(f"document {document.id!r} has no text to index")
    previous_end = 0
    for section in document.sections:
        body = document.text[section.start:section.end]
        if section.start < previous_end or not body or body != body.strip() or not section.title.strip():
            raise ContractViolation(f"document {document.id!r}: section {section.title!r} is misplaced or empty")
        previous_end = section.end
    try:
        document.content_hash()
        document.model_dump_json()
    except UnicodeError as exc:
        raise ContractViolation(f"document {document.id!r} cannot be stored as UTF-8: {exc}") from exc
