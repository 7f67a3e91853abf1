"""Put on PYTHONPATH by the tests so that subprocesses they start are offline too.

The guard is loaded from its file, not imported as ``rag.testing.netguard``: importing that would import the package
``rag.testing`` first, its fakes and their imports (numpy, pydantic, the settings), ~0.7 s of CPU in every Python
process a test starts, most of which never use them."""

import importlib.util
from pathlib import Path

_GUARD = Path(__file__).resolve().parents[2] / "rag" / "testing" / "netguard.py"
_spec = importlib.util.spec_from_file_location("_rag_netguard", _GUARD)
assert _spec is not None and _spec.loader is not None, _GUARD
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_module.install_network_guard()
