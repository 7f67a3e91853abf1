"""``rag ask``: a cited two-section answer, as Markdown in the terminal or as the Answer JSON."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from rag.answer.render import render_markdown
from rag.cli.app import main
from rag.cli.common import common_options, components, emit, load_settings, reported_errors
from rag.contract import AUDIENCES, BACKENDS


@main.command()
@click.argument("question")
@click.option("--audience", type=click.Choice(AUDIENCES), default="clinician", show_default=True,
              help="clinician: clinical language; patient: plain language.")
@click.option("--conversation", "conversation_id", default=None, help="Continue this conversation (a follow-up).")
@click.option("--llm", "backend", type=click.Choice(BACKENDS), default=None,
              help="Generator (default from RAG_GENERATION__BACKEND: extractive).")
@common_options
def ask(question: str, audience: str, conversation_id: str | None, backend: str | None, data_dir: Path | None,
        as_json: bool) -> None:
    """Answer QUESTION in two cited sections: From the Guidelines, From the Research."""
    settings = load_settings(data_dir)
    with reported_errors(), components(settings, answering=True) as built:
        answer = built.answers().answer(question, audience=audience, conversation_id=conversation_id,
                                        backend=backend)
    if as_json:
        emit(answer.model_dump(mode="json"))
    else:
        from rich.markdown import Markdown

        Console().print(Markdown(render_markdown(answer)))
