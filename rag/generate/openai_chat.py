"""Any OpenAI-compatible chat endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp server) via the openai SDK.

Output modes (``generation.output``): ``json`` asks for the answer schema through ``response_format`` (every
sentence then carries its source numbers, which small local models rarely write as [n] markers on their own);
``text`` asks for the Markdown contract; ``auto`` asks for JSON and remembers, for the life of this generator (one
per process and endpoint), how the endpoint takes it. The schema is offered as ``json_schema`` (OpenAI, vLLM,
Ollama, llama.cpp's server), then as ``json_object`` with a ``schema`` (llama-cpp-python's server, which answers
``json_schema`` with HTTP 500); an endpoint that refuses both is asked at once for text (nothing was generated), and
one that ignores the schema has its text read as Markdown. Either way the answer comes from one generation.

Retries with exponential backoff on connection errors, timeouts, 408/409/429 and 5xx are the SDK's own
(``max_retries``); whatever still fails becomes a :class:`GenerationError` that the answer service turns into an
extractive fallback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator as Stream
from collections.abc import Iterator
from typing import Any

import httpx

from rag.config import GenerationSettings
from rag.errors import ConfigError, GenerationError
from rag.generate.json_answer import (
    SCHEMA_STYLES,
    JsonAnswerView,
    SchemaStyle,
    read_answer,
    response_format,
    to_markdown,
)
from rag.generate.prompting import ChatPrompt
from rag.generate.protocol import Generation, GenerationRequest, OutputFormat
from rag.generate.repetition import REPEATED, RepetitionGuard, without_repeats

logger = logging.getLogger(__name__)

IGNORED_SCHEMA = "The model endpoint did not return the JSON answer it was asked for; its text was read as Markdown."
REJECTED_SCHEMA = "The model endpoint does not accept a JSON schema (response_format); the answer was asked as text."


class _FormatRejected(Exception):
    """The endpoint refused a request because of its ``response_format``."""


def _names(error: Any, field: str) -> bool:
    """Whether an error's message or body names a request field."""
    return field in f"{getattr(error, 'message', '')} {getattr(error, 'body', '')}".lower()


class _Usage:
    """Token counts a stream reports in its usage chunk (asked for with ``stream_options``), if any."""

    def __init__(self) -> None:
        self.tokens: tuple[int, int] | None = None

    def read(self, usage: Any) -> None:
        """Keep the (prompt, completion) tokens of a chunk's ``usage``, when it has one."""
        if usage is not None:
            self.tokens = (int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0))


def _refuses_format(error: Any) -> bool:
    """Whether an error status answers the request's ``response_format`` rather than an outage: a client error
    (400, 404, 415, 422), 501, or any status whose message names the field (llama-cpp-python's server answers an
    unknown ``json_schema`` type with 500)."""
    status = int(getattr(error, "status_code", 0))
    if status in (400, 404, 415, 422, 501):
        return True
    return _names(error, "response_format") or _names(error, "json_schema")


class OpenAIChatGenerator:
    """Chat completions with temperature, timeout, retries, streaming and the output mode from settings."""

    def __init__(self, settings: GenerationSettings, client: Any = None) -> None:
        if not settings.model:
            raise ConfigError("generation.model is required for the openai backend (RAG_GENERATION__MODEL)")
        self._settings = settings
        self._client = client or self._make_client(settings)
        self._style: SchemaStyle | bool | None = None
        """Auto mode: the schema style this endpoint honours, False when none, None until known."""
        self._stream_usage = settings.stream_usage
        """Whether streams ask for token usage (``stream_options``); turned off if the endpoint refuses it."""
        self._lock = threading.Lock()

    @staticmethod
    def _make_client(settings: GenerationSettings) -> Any:
        import openai

        key = settings.api_key.get_secret_value() if settings.api_key is not None else "not-needed"
        return openai.OpenAI(base_url=settings.base_url, api_key=key, timeout=settings.timeout_s,
                             max_retries=settings.max_retries)

    @property
    def name(self) -> str:
        """``openai:`` and the model name."""
        return f"openai:{self._settings.model}"

    @property
    def is_model(self) -> bool:
        """True: a language model writes the answer."""
        return True

    def _styles(self, request: GenerationRequest) -> tuple[SchemaStyle, ...]:
        """The schema styles to offer, in order (none: ask for text)."""
        mode = self._settings.output
        if request.json_prompt is None or mode == "text" or (mode == "auto" and self._style is False):
            return ()
        if mode == "auto" and isinstance(self._style, str):
            return (self._style,)
        return SCHEMA_STYLES

    def generate(self, request: GenerationRequest) -> Generation:
        """The whole answer, in one generation (a refused ``response_format`` is offered in the other style, then
        asked again as text)."""
        styles = self._styles(request)
        for style in styles:
            assert request.json_prompt is not None
            try:
                response = self._call(request.json_prompt, stream=False, style=style)
            except _FormatRejected:
                continue
            return _without_repeats(self._checked_json(self._read(response, "json"), style))
        generation = self._read(self._call(request.prompt, stream=False), "markdown")
        return _without_repeats(self._after_rejection(generation) if styles else generation)

    def stream(self, request: GenerationRequest) -> Iterator[str | Generation]:
        """Readable text as it arrives (JSON items are shown once whole), then the :class:`Generation`."""
        styles = self._styles(request)
        for style in styles:
            assert request.json_prompt is not None
            try:
                chunks = self._call(request.json_prompt, stream=True, style=style)
            except _FormatRejected:
                continue
            generation = yield from self._stream_json(chunks)
            yield self._checked_json(generation, style) if generation.format == "json" else generation
            return
        generation = yield from self._stream_text(self._call(request.prompt, stream=True))
        yield self._after_rejection(generation) if styles else generation

    def complete(self, prompt: ChatPrompt) -> str:
        """A plain text completion (condensing a follow-up, judging a claim)."""
        return self._read(self._call(prompt, stream=False), "markdown").text

    # -- reading responses -------------------------------------------------------------------------------------
    def _read(self, response: Any, fmt: OutputFormat) -> Generation:
        try:
            choice = response.choices[0]
            content = choice.message.content
        except (AttributeError, IndexError, TypeError) as exc:
            raise GenerationError(f"the model's response had no message ({type(exc).__name__})", "malformed") from None
        if not isinstance(content, str) or not content.strip():
            raise GenerationError("the model returned an empty message", "empty")
        usage = getattr(response, "usage", None)
        tokens = (int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)) if usage is not None else None
        return Generation(content, fmt, getattr(choice, "finish_reason", None) == "length", (), tokens)

    def _checked_json(self, generation: Generation, style: SchemaStyle) -> Generation:
        """A JSON-mode generation as JSON when it holds the answer object, else as Markdown with a notice (the
        endpoint ignored the schema: in auto mode it is asked for text from now on)."""
        if read_answer(generation.text) is not None:
            self._remember(style)
            return generation
        self._remember(False)
        return Generation(generation.text, "markdown", generation.truncated, (*generation.notices, IGNORED_SCHEMA),
                          generation.tokens)

    def _after_rejection(self, generation: Generation) -> Generation:
        """A text answer asked for after the endpoint refused every schema style."""
        self._remember(False)
        return Generation(generation.text, "markdown", generation.truncated, (*generation.notices, REJECTED_SCHEMA),
                          generation.tokens)

    def _remember(self, style: SchemaStyle | bool) -> None:
        if self._settings.output != "auto":
            return
        with self._lock:
            if self._style != style:
                logger.info("JSON output: %s", style or "not honoured", extra={"model": self._settings.model})
            self._style = style

    def _stream_json(self, chunks: Any) -> Stream[str, None, Generation]:
        """Shows the items of a streamed JSON answer as they complete; text that is not JSON is shown as it is. A
        model that starts repeating itself is stopped: the answer is then the readable text before the repeats."""
        view = JsonAnswerView()
        guard = self._guard()
        raw: list[str] = []
        passthrough: bool | None = None
        finish = None
        usage = _Usage()
        pieces = self._pieces(chunks, usage)
        for piece, reason in pieces:
            finish = reason or finish
            raw.append(piece)
            shown = ""
            if passthrough is None and "".join(raw).strip():
                passthrough = not "".join(raw).lstrip().startswith(("{", "`"))
                shown = "".join(raw) if passthrough else view.feed(piece)
            elif passthrough:
                shown = piece
            elif passthrough is False:
                shown = view.feed(piece)
            if shown:
                yield shown
            if guard.feed(shown):
                pieces.close()  # no more tokens asked for
                return self._repeated(guard, "json" if passthrough else "markdown", usage)
        return self._finished("".join(raw), "json", finish, usage.tokens)

    def _stream_text(self, chunks: Any) -> Stream[str, None, Generation]:
        guard = self._guard()
        finish = None
        usage = _Usage()
        pieces = self._pieces(chunks, usage)
        for piece, reason in pieces:
            finish = reason or finish
            if piece:
                yield piece
            if guard.feed(piece):
                pieces.close()  # no more tokens asked for
                return self._repeated(guard, "markdown", usage)
        return self._finished(guard.text, "markdown", finish, usage.tokens)

    def _guard(self) -> RepetitionGuard:
        """What reads a streamed answer's readable text for loops, one per stream (bench/loop_stop.py times what it
        reads instead of stopping)."""
        return RepetitionGuard()

    @staticmethod
    def _repeated(guard: RepetitionGuard, fmt: OutputFormat, usage: _Usage) -> Generation:
        logger.warning("the model began repeating itself; its stream was stopped after %d characters",
                       len(guard.text))
        return Generation(guard.kept, fmt, False, (REPEATED,), usage.tokens)

    @staticmethod
    def _finished(text: str, fmt: OutputFormat, finish: str | None, tokens: tuple[int, int] | None) -> Generation:
        if not text.strip():
            raise GenerationError("the model returned an empty message", "empty")
        return Generation(text, fmt, finish == "length", (), tokens)

    @staticmethod
    def _pieces(chunks: Any, usage: _Usage) -> Stream[tuple[str, str | None], None, None]:
        """(text, finish reason) of each streamed chunk; the usage chunk's token counts go into ``usage``. The
        stream is closed however this ends: when the reader stops early (a client that went away), the connection
        to the endpoint closes and the model is asked for no more tokens."""
        import openai

        try:
            for chunk in chunks:
                usage.read(getattr(chunk, "usage", None))
                choice = chunk.choices[0] if chunk.choices else None
                if choice is None:
                    continue
                content = choice.delta.content if choice.delta and choice.delta.content else ""
                yield content, choice.finish_reason
        except (openai.OpenAIError, httpx.HTTPError) as exc:
            raise GenerationError(f"the stream from the model broke off ({type(exc).__name__})",
                                  "stream_broken") from None
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _call(self, prompt: ChatPrompt, *, stream: bool, style: SchemaStyle | None = None) -> Any:
        import openai

        extra: dict[str, Any] = {"response_format": response_format(style)} if style else {}
        if stream and self._stream_usage:
            extra["stream_options"] = {"include_usage": True}
        try:
            return self._client.chat.completions.create(
                model=self._settings.model, messages=prompt.messages(), temperature=self._settings.temperature,
                max_tokens=self._settings.max_answer_tokens, stream=stream, **extra,
            )
        except openai.APITimeoutError:
            raise GenerationError(f"the model did not answer within {self._settings.timeout_s:g} s",
                                  "timeout") from None
        except openai.APIConnectionError:
            raise GenerationError("the model endpoint could not be reached", "unreachable") from None
        except openai.APIStatusError as exc:
            if "stream_options" in extra and exc.status_code in (400, 422) and _names(exc, "stream_options"):
                logger.info("the endpoint refused stream_options; streams are asked without token usage")
                self._stream_usage = False  # remembered, like the output mode: asked again at once, without it
                return self._call(prompt, stream=stream, style=style)
            if style and _refuses_format(exc):
                logger.info("the endpoint refused response_format %s (HTTP %d)", style, exc.status_code)
                raise _FormatRejected from None
            raise GenerationError(f"the model endpoint returned HTTP {exc.status_code}", "http_status") from None
        except openai.OpenAIError as exc:
            raise GenerationError(f"the model call failed ({type(exc).__name__})") from None


def _without_repeats(generation: Generation) -> Generation:
    """A whole generation cut where it starts looping (read as Markdown), with a notice; unchanged otherwise."""
    data = read_answer(generation.text) if generation.format == "json" else None
    kept = without_repeats(to_markdown(data) if data is not None else generation.text)
    if kept is None:
        return generation
    fmt: OutputFormat = "markdown" if data is not None or generation.format == "markdown" else "json"
    return Generation(kept, fmt, generation.truncated, (*generation.notices, REPEATED), generation.tokens)
