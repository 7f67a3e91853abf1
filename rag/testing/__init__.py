"""Deterministic fakes and guards for tests of this library and of applications built on it."""

from rag.testing.fakes import HashEmbedder, InMemoryVectorStore
from rag.testing.netguard import install_network_guard

__all__ = ["HashEmbedder", "InMemoryVectorStore", "install_network_guard"]
