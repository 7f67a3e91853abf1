"""Documents: upload a file or a JSON document (ingested incrementally), list, read, delete (admin for writes)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import uuid
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import AdminAccess, ComponentsDep, ReadAccess
from api.schemas import ERRORS, WRITE_ERRORS, DocumentJson, DocumentList, DocumentOut, DocumentSummary, IngestOut
from rag.errors import NotFoundError, UserError
from rag.factory import Components
from rag.loaders import FORMAT_NAMES, check_format
from rag.store.lock import writer_lock
from rag.store.space import unwritable_errors
from rag.text.instructions import instruction_spans

router = APIRouter(prefix="/v1", tags=["documents"], responses=ERRORS)
UPLOADS = "uploads"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(name: str) -> str:
    base = _UNSAFE_NAME.sub("-", Path(name).name).strip(".-") or "document"
    return base[-100:]


def _ingest_bytes(components: Components, data: bytes, name: str, fmt: str, kind: str | None) -> JSONResponse:
    """Store the upload under the data dir and ingest it; a file that fails is removed again, so a bad upload leaves
    the index exactly as it was."""
    folder = components.settings.data_dir / UPLOADS
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}-{_safe_name(name)}"
    existed = path.exists()
    if not existed:
        _save_upload(components, path, data)
    report = components.ingestor().run([path], fmt=check_format(fmt), kind=kind)  # type: ignore[arg-type]
    stored_as = str(path.resolve())
    for failure in report.failed:  # the client named its file; the path under the data dir is not its business
        for prefix in (stored_as, str(path)):
            failure["path"] = failure["path"].replace(prefix, name)
        failure["error"] = failure["error"].replace(stored_as, name).replace(str(path), name)
    body = IngestOut(**report.as_dict(), document_ids=components.index.documents_from_file(stored_as))
    if report.failed:
        if not existed and not body.document_ids:
            path.unlink(missing_ok=True)
        return JSONResponse(
            {"error": {"status": 422, "message": "the document could not be ingested",
                       "detail": report.failed}, "report": body.model_dump()}, status_code=422)
    return JSONResponse(body.model_dump(), status_code=201)


def _save_upload(components: Components, path: Path, data: bytes) -> None:
    """Refuse a full or read-only data dir first; then write a temporary file and rename it, so neither a full disk
    nor a crash leaves a truncated file under the name (the content hash) of the complete one."""
    components.index.check_space(extra_bytes=len(data))
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    with unwritable_errors(components.settings.data_dir, interrupted=False):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            partial.write_bytes(data)
            os.replace(partial, path)
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise


_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "Markdown, text, PDF, PubMed XML, "
                         "JATS, JSONL, PubMedQA JSON, SciFact or guideline-summary JSONL."},
                "format": {"type": "string", "enum": list(FORMAT_NAMES), "default": "auto"},
                "kind": {"type": "string", "enum": ["guideline", "study"],
                         "description": "For sources that do not state their kind."},
            }}},
        "application/json": {"schema": {"$ref": "#/components/schemas/DocumentJson"}},
    },
}


@router.post("/documents", status_code=201, response_model=IngestOut, openapi_extra={"requestBody": _UPLOAD_BODY},
             summary="Add a document: a file (multipart) or a JSON document",
             responses={422: {"description": "The document could not be read; nothing stored was changed."},
                        409: {"description": "Another ingest is running; retry."},
                        413: {"description": "The body is larger than the configured limit."}, **WRITE_ERRORS})
async def add_document(request: Request, components: ComponentsDep, _: AdminAccess) -> JSONResponse:
    """Ingest an uploaded file (multipart) or a JSON document: 201 with the ingest report, 422 with it when
    the document could not be read (a new upload that stored nothing is removed again)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            document = DocumentJson.model_validate(await request.json())
        except (ValueError, ValidationError) as exc:
            raise UserError(f"the JSON document is invalid: {exc}") from None
        data = (json.dumps(document.model_dump(mode="json"), ensure_ascii=False) + "\n").encode()
        return await run_in_threadpool(_ingest_bytes, components, data, f"{document.id}.jsonl", "jsonl", None)
    if not content_type.startswith("multipart/form-data"):
        raise HTTPException(415, "send multipart/form-data with a 'file' field, or application/json")
    form = await request.form()
    upload = form.get("file")
    fmt, kind = str(form.get("format") or "auto"), form.get("kind")
    if upload is None or isinstance(upload, str):
        raise UserError("the form needs a 'file' field holding the document")
    if fmt not in FORMAT_NAMES:
        raise UserError(f"format must be one of {', '.join(FORMAT_NAMES)}")
    if kind not in (None, "", "guideline", "study"):
        raise UserError("kind must be 'guideline' or 'study'")
    data = await upload.read()
    return await run_in_threadpool(_ingest_bytes, components, data, upload.filename or "upload", fmt,
                                   str(kind) if kind else None)


@router.get("/documents", response_model=DocumentList)
def list_documents(components: ComponentsDep, _: ReadAccess,
                   kind: Literal["guideline", "study"] | None = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> DocumentList:
    """One page of the indexed documents ordered by id, and their total, optionally of one kind."""
    components.index.refresh()
    rows, total = components.index.document_page(kind, limit, offset)
    return DocumentList(
        documents=[DocumentSummary(id=i, kind=m.kind, title=m.title, year=m.year, source=m.source_name, chunks=n)
                   for i, m, n in rows],
        total=total, limit=limit, offset=offset,
    )


@router.get("/documents/{doc_id}", response_model=DocumentOut)
def get_document(doc_id: str, components: ComponentsDep, _: ReadAccess) -> DocumentOut:
    """A document's metadata, sections, full text and chunk count; an unknown id is 404."""
    components.index.refresh()
    document, stored = components.index.document(doc_id), components.index.stored_document(doc_id)
    if document is None or stored is None:
        raise NotFoundError(f"unknown document id {doc_id!r}")
    flagged = instruction_spans(document.text)
    notices = [f"{len(flagged)} sentence(s) of this document address a model as instructions; they are kept but "
               "never quoted and never count as support for a claim."] if flagged else []
    return DocumentOut(id=doc_id, meta=document.meta.model_dump(mode="json"),
                       sections=[s.model_dump() for s in document.sections], text=document.text, chunks=stored.n_chunks,
                       instructions=[[start, end] for start, end in flagged], notices=notices)


@router.delete("/documents/{doc_id}", status_code=204, responses=WRITE_ERRORS)
def delete_document(doc_id: str, request: Request, components: ComponentsDep, _: AdminAccess) -> None:
    """Remove a document with its chunks and vectors under the writer lock (409 while an ingest runs); an
    uploaded file that no longer holds any indexed document is deleted too."""
    index = components.index
    with writer_lock(components.settings.data_dir):
        index.refresh(force=True)
        stored = index.stored_document(doc_id)
        if stored is None:
            raise HTTPException(404, f"unknown document id {doc_id!r}")
        index.remove([doc_id])
        source = Path(stored.source_file)
        uploads = (components.settings.data_dir / UPLOADS).resolve()
        if source.parent == uploads and not index.documents_from_file(str(source)):
            source.unlink(missing_ok=True)
