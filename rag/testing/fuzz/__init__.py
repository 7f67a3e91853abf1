"""Fuzz targets for the loaders and the answer parser: structure-aware hypothesis strategies, and the contract each
generated input is checked against. tests/fuzz runs each briefly; bench/fuzz.py runs them for a set time.

Needs hypothesis (the ``dev`` extra); nothing else in the library imports this package.
"""

from rag.testing.fuzz.contract import ContractViolation, LoaderInput
from rag.testing.fuzz.targets import TARGETS, Target

__all__ = ["TARGETS", "ContractViolation", "LoaderInput", "Target"]
