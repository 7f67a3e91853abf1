"""Contract tests for the seams, as mixins: a backend's test class inherits one and implements its ``make_...`` hook,
and pytest runs every test of the contract against it (``class TestMyStore(VectorStoreContract)``). They import
pytest: only tests import this package.
"""

from rag.testing.contracts.conversations import ConversationsContract
from rag.testing.contracts.generator import GeneratorContract, ModelGeneratorContract
from rag.testing.contracts.judge import JudgeContract
from rag.testing.contracts.lexical import LexicalIndexContract
from rag.testing.contracts.vector_store import VectorStoreContract

__all__ = [
    "ConversationsContract", "GeneratorContract", "JudgeContract", "LexicalIndexContract", "ModelGeneratorContract",
    "VectorStoreContract",
]
