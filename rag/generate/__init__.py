"""Answer generators behind one protocol: an OpenAI-compatible chat model, and the offline extractive composer."""

from rag.generate.protocol import GenerationError, GenerationRequest, Generator

__all__ = ["GenerationError", "GenerationRequest", "Generator"]
