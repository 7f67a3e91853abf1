"""Answer generators behind one protocol: an OpenAI-compatible chat model, and the offline extractive composer."""

from rag.errors import GenerationError
from rag.generate.protocol import GenerationRequest, Generator

__all__ = ["GenerationError", "GenerationRequest", "Generator"]
