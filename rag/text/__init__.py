"""Text utilities shared by chunking, quoting and answer checking."""
