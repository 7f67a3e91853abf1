"""Prompt templates (Jinja2), rendered by rag.answer.prompting in a sandbox with StrictUndefined."""
