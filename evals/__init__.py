"""The evaluation harness: metrics over retrieval results and answers (the eval runner comes with its issue)."""
