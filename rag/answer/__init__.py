"""Answers in two cited sections: sources, prompts, generation, parsing, verification and fallback."""
