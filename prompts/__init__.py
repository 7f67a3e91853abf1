"""Prompt templates (Jinja2), rendered by rag.generate.prompting in a sandbox with StrictUndefined."""
