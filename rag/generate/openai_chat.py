"""Any OpenAI-compatible chat endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp server) via the openai SDK.

Retries with exponential backoff on connection errors, timeouts, 408/409/429 and 5xx are the SDK's own
(``max_retries``); whatever still fails becomes a :class:`GenerationError` that the answer service turns into an
extractive fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from rag.config import GenerationSettings
from rag.errors import ConfigError, GenerationError
from rag.generate.prompting import ChatPrompt
from rag.generate.protocol import GenerationRequest

logger = logging.getLogger(__name__)


class OpenAIChatGenerator:
    """Chat completions with temperature, timeout, retries and streaming from settings."""

    def __init__(self, settings: GenerationSettings, client: Any = None) -> None:
        if not settings.model:
            raise ConfigError("generation.model is required for the openai backend (RAG_GENERATION__MODEL)")
        self._settings = settings
        self._client = client or self._make_client(settings)

    @staticmethod
    def _make_client(settings: GenerationSettings) -> Any:
        import openai

        key = settings.api_key.get_secret_value() if settings.api_key is not None else "not-needed"
        return openai.OpenAI(base_url=settings.base_url, api_key=key, timeout=settings.timeout_s,
                             max_retries=settings.max_retries)

    @property
    def name(self) -> str:
        return f"openai:{self._settings.model}"

    def generate(self, request: GenerationRequest) -> str:
        return self.complete(request.prompt)

    def complete(self, prompt: ChatPrompt) -> str:
        response = self._call(prompt, stream=False)
        try:
            content = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError) as exc:
            raise GenerationError(f"the model's response had no message ({type(exc).__name__})") from None
        if not isinstance(content, str) or not content.strip():
            raise GenerationError("the model returned an empty message")
        return content

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        chunks = self._call(request.prompt, stream=True)
        try:
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except Exception as exc:
            raise GenerationError(f"the stream from the model broke off ({type(exc).__name__})") from None

    def _call(self, prompt: ChatPrompt, *, stream: bool) -> Any:
        import openai

        try:
            return self._client.chat.completions.create(
                model=self._settings.model, messages=prompt.messages(), temperature=self._settings.temperature,
                max_tokens=self._settings.max_answer_tokens, stream=stream,
            )
        except openai.APITimeoutError:
            raise GenerationError(f"the model did not answer within {self._settings.timeout_s:g} s") from None
        except openai.APIConnectionError:
            raise GenerationError("the model endpoint could not be reached") from None
        except openai.APIStatusError as exc:
            raise GenerationError(f"the model endpoint returned HTTP {exc.status_code}") from None
        except openai.OpenAIError as exc:
            raise GenerationError(f"the model call failed ({type(exc).__name__})") from None
