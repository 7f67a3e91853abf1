"""Prompt rendering: the templates in prompts/, a sandboxed Jinja environment with StrictUndefined.

Sources are fenced as ``<source n=.. kind=..>`` blocks; anything inside that could close or forge a fence is
neutralised first, so a document cannot break out of its block and speak as an instruction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from rag.contract import LIMITATIONS_TITLE, NO_EVIDENCE_STATEMENTS, SECTION_TITLES, Audience, Source
from rag.errors import ConfigError

_FENCE = re.compile(r"<\s*/?\s*source\b", re.IGNORECASE)


def default_prompts_dir() -> Path:
    """The prompts/ folder shipped with the package."""
    import prompts

    return Path(prompts.__file__).resolve().parent


@dataclass(frozen=True)
class ChatPrompt:
    """What a chat model receives: a system message and a user message."""

    system: str
    user: str

    def messages(self) -> list[dict[str, str]]:
        """The prompt as chat messages for the OpenAI API."""
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


@dataclass(frozen=True)
class Turn:
    """An earlier question of the conversation."""

    question: str


def fence_safe(text: str) -> str:
    """Text that cannot open or close a ``<source>`` block."""
    return _FENCE.sub(lambda m: m.group(0).replace("<", "‹"), text)


class Prompts:
    """Renders the answer and follow-up prompts for an audience."""

    def __init__(self, directory: Path | None = None) -> None:
        directory = directory or default_prompts_dir()
        if not (directory / "answer.j2").is_file():
            raise ConfigError(f"the prompts folder {directory} has no answer.j2")
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader(str(directory)), undefined=StrictUndefined, autoescape=False,
            keep_trailing_newline=False, trim_blocks=True,
        )

    def answer(self, question: str, sources: Sequence[Source], audience: Audience,
               history: Sequence[Turn] = (), output: str = "markdown") -> ChatPrompt:
        """The answer prompt: the numbered sources fenced as data, the question, and the output contract
        (``markdown``: the sections with [n] markers; ``json``: the items of rag.generate.json_answer)."""
        style = self._style(audience)
        common = self._common()
        system = self._env.get_template("system.j2").render(
            audience_description=style["description"], output=output, **common
        )
        views = [
            {"n": s.n, "kind": s.kind, "title": fence_safe(s.hit.title).replace('"', "'"), "year": s.hit.year,
             "design": s.hit.study_design, "participants": s.hit.sample_size, "text": fence_safe(s.text)}
            for s in sources
        ]
        template = "answer_json.j2" if output == "json" else "answer.j2"
        user = self._env.get_template(template).render(
            question=fence_safe(question), sources=views, history=[{"question": fence_safe(t.question)}
                                                                   for t in history],
            style=style, **common,
        )
        return ChatPrompt(system=system.strip(), user=user.strip())

    def condense(self, question: str, history: Sequence[Turn]) -> ChatPrompt:
        """Asks a model to rewrite a follow-up as one standalone question."""
        user = self._env.get_template("condense.j2").render(
            question=question, history=[{"question": t.question} for t in history]
        )
        return ChatPrompt(system=self._env.get_template("condense_system.j2").render().strip(), user=user.strip())

    def judge(self, claim: str, passage: str) -> ChatPrompt:
        """Asks a model whether ``passage`` supports ``claim`` (one word: SUPPORTED or UNSUPPORTED)."""
        user = self._env.get_template("judge.j2").render(claim=claim, passage=fence_safe(passage))
        return ChatPrompt(system=self._env.get_template("judge_system.j2").render().strip(), user=user.strip())

    @staticmethod
    def _common() -> dict[str, Any]:
        return {"titles": SECTION_TITLES, "no_evidence": NO_EVIDENCE_STATEMENTS, "limitations_title": LIMITATIONS_TITLE}

    def _style(self, audience: Audience) -> dict[str, str]:
        return _audience_style(self._env, audience)


@lru_cache(maxsize=8)
def _audience_style(env: SandboxedEnvironment, audience: Audience) -> dict[str, str]:
    module = env.get_template(f"audience_{audience}.j2").module
    return {key: str(getattr(module, key)) for key in ("description", "guidelines", "research", "limitations")}
