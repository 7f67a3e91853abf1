"""Deterministic fakes and guards for tests of this library and of applications built on it."""

from rag.testing.fakes import HashEmbedder, InMemoryVectorStore, KeywordReranker
from rag.testing.netguard import install_network_guard

__all__ = ["HashEmbedder", "InMemoryVectorStore", "KeywordReranker", "install_network_guard"]
