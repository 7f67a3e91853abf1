"""``python -m rag.cli`` runs the command line (as ``python -m rag`` does)."""

from rag.cli import main

main()
