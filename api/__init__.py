"""The HTTP API: answers (JSON and SSE), conversations, search, documents, an OpenAI-compatible facade, health."""
