"""Log output as operators read it: plain text lines, or one JSON object a line (``RAG_LOG__FORMAT=json``) with the
record's structured fields (request id, route, status, duration, counts). Question text, keys and document
contents are never logged at INFO: the callers pass ids, counts and timings only."""

from __future__ import annotations

import json
import logging
import re
import sys
import time

from rag.config import LogSettings

#: The attributes every LogRecord has; anything else on a record came from ``extra=`` and is a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``LEVEL logger: message key=value ...`` with the record's extra fields; a value holding anything but letters,
    digits and ``._:/-`` is written as a JSON string (quoted, escaped), so no value can forge another field or a
    line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of text."""
        fields = " ".join(f"{key}={_plain(value)}" for key, value in vars(record).items() if key not in _STANDARD)
        line = f"{record.levelname} {record.name}: {record.getMessage()}" + (f" {fields}" if fields else "")
        return line + (f"\n{self.formatException(record.exc_info)}" if record.exc_info else "")


_BARE = re.compile(r"[A-Za-z0-9._:/-]+")


def _plain(value: object) -> str:
    text = str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def configure_logging(settings: LogSettings, level: int | None = None) -> None:
    """Send the library's and the API's logs to stderr in the configured format, at ``level`` (default: the
    setting's). Replaces a handler this function installed before; leaves other handlers alone."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_rag", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    handler._rag = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    chosen = level if level is not None else logging.getLevelName(settings.level.upper())
    for name in ("rag", "api", "evals"):
        logging.getLogger(name).setLevel(chosen)
