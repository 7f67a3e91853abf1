"""Put on PYTHONPATH by the tests so that subprocesses they start are offline too."""

from rag.testing.netguard import install_network_guard

install_network_guard()
