"""``python -m rag`` runs the command line."""

from rag.cli import main

if __name__ == "__main__":  # not when a child process (PDF parsing, spawned) imports this module as __mp_main__
    main()
