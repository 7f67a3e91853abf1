"""Prompt rendering: the templates in prompts/, a sandboxed Jinja environment with StrictUndefined.

Every piece of untrusted text (sources, the question, earlier questions, the judge's claim and passage) is fenced
in a block whose tag name ends in a random suffix drawn for that prompt and found in none of the text
(``<source-4f1c9a2e7b3d n=.. kind=..>``). The text is normalised first (NFKC, invisible characters removed) and
every ``<`` that could open or close a tag becomes ``‹``, so a document cannot close its block, forge another one
or hide a tag behind look-alike (``＜/source＞``) or invisible characters, and speak as an instruction.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from rag.contract import LIMITATIONS_TITLE, NO_EVIDENCE_STATEMENTS, SECTION_TITLES, Audience, Source
from rag.errors import ConfigError

#: A "<" that could start a tag: blanks, an optional "/" and blanks, then a letter of any script. Linear: each part
#: is taken whole, and the blanks after one "<" are not those after another.
_TAG_OPENING = re.compile(r"<(?=\s*+/?+\s*+[^\W\d_])")
#: Characters NFKC leaves alone here: superscripts and subscripts, whose NFKC forms change a value's meaning
#: (10⁹/L would read 109/L).
_PLANES = (range(0x0, 0x20000), range(0xE0000, 0xE1000))
#: Default-ignorable characters that are not format characters (Cf): the combining grapheme joiner, Hangul fillers,
#: Khmer inherent vowels, Mongolian and other variation selectors.
_IGNORABLE_NOT_CF = "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0" + "".join(
    chr(c) for c in [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])


def default_prompts_dir() -> Path:
    """The prompts/ folder shipped with the package."""
    import prompts

    return Path(prompts.__file__).resolve().parent


@dataclass(frozen=True)
class ChatPrompt:
    """What a chat model receives: a system message and a user message."""

    system: str
    user: str
    fence: Fence | None = field(default=None, compare=False)

    def messages(self) -> list[dict[str, str]]:
        """The prompt as chat messages for the OpenAI API."""
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


@dataclass(frozen=True)
class Turn:
    """An earlier question of the conversation (as condensed), with the publications its answer cited (what a
    follow-up's "that trial" or "the review" refers to) and the passages it quoted (what a follow-up need not hear
    again)."""

    question: str
    cited: tuple[str, ...] = ()
    quoted: tuple[str, ...] = ()


@cache
def _invisible() -> dict[int, None]:
    """Format characters (zero-width spaces and joiners, bidirectional controls, tags, the soft hyphen) and other
    default-ignorable characters, as a table that deletes them. Built once, on first use."""
    found = {c: None for plane in _PLANES for c in plane if unicodedata.category(chr(c)) == "Cf"}
    found.update({ord(c): None for c in _IGNORABLE_NOT_CF})
    return found


@cache
def _kept_as_is() -> re.Pattern[str]:
    """Runs of the superscripts and subscripts NFKC must not touch. Built once, on first use."""
    chars = "".join(chr(c) for plane in _PLANES for c in plane
                    if unicodedata.decomposition(chr(c)).startswith(("<super>", "<sub>")))
    return re.compile(f"[{re.escape(chars)}]+")


def normalise_untrusted(text: str) -> str:
    """``text`` as a model sees it: NFKC (fullwidth and other look-alike forms become the characters they stand
    for) except superscripts and subscripts, and no invisible characters."""
    if text.isascii():
        return text
    text = text.translate(_invisible())
    kept = _kept_as_is()
    pieces, start = [], 0
    for run in kept.finditer(text):
        pieces += [unicodedata.normalize("NFKC", text[start:run.start()]), run.group(0)]
        start = run.end()
    pieces.append(unicodedata.normalize("NFKC", text[start:]))
    return "".join(pieces)


def fence_safe(text: str) -> str:
    """Untrusted text that cannot open or close any tag: normalised (:func:`normalise_untrusted`), and every
    ``<`` before an optional ``/`` and a letter replaced by ``‹``."""
    return _TAG_OPENING.sub("‹", normalise_untrusted(text))


@dataclass(frozen=True)
class Fence:
    """The tag names of one prompt's fenced blocks: a kind and a random suffix that none of the text holds."""

    suffix: str

    @classmethod
    def around(cls, texts: Sequence[str]) -> Fence:
        """A fence with a fresh random suffix found in none of ``texts`` (compared without case)."""
        lowered = [text.lower() for text in texts]
        while True:
            suffix = secrets.token_hex(6)
            if not any(suffix in text for text in lowered):
                return cls(suffix)

    @property
    def source(self) -> str:
        """The tag of a source block."""
        return f"source-{self.suffix}"

    @property
    def question(self) -> str:
        """The tag around the question."""
        return f"question-{self.suffix}"

    @property
    def history(self) -> str:
        """The tag around each earlier question of the conversation."""
        return f"history-{self.suffix}"

    @property
    def claim(self) -> str:
        """The tag around the claim the judge checks."""
        return f"claim-{self.suffix}"

    @property
    def passage(self) -> str:
        """The tag around the passage the judge reads."""
        return f"passage-{self.suffix}"


class Prompts:
    """Renders the answer and follow-up prompts for an audience."""

    def __init__(self, directory: Path | None = None) -> None:
        directory = directory or default_prompts_dir()
        if not (directory / "answer.j2").is_file():
            raise ConfigError(f"the prompts folder {directory} has no answer.j2")
        self._directory = directory
        self._env = _environment(str(directory))

    def answer(self, question: str, sources: Sequence[Source], audience: Audience,
               history: Sequence[Turn] = (), output: str = "markdown") -> ChatPrompt:
        """The answer prompt: the numbered sources, the question and the earlier questions fenced as data, and the
        output contract (``markdown``: the sections with [n] markers; ``json``: the items of
        rag.generate.json_answer)."""
        style = self._style(audience)
        common = self._common()
        texts = [fence_safe(s.text) for s in sources]
        titles = [_attribute(s.hit.title) for s in sources]
        designs = [_attribute(s.hit.study_design or "") for s in sources]
        views = [
            {"n": s.n, "kind": s.kind, "title": title, "year": s.hit.year, "design": design,
             "participants": s.hit.sample_size, "text": text}
            for s, text, title, design in zip(sources, texts, titles, designs, strict=True)
        ]
        question = fence_safe(question)
        earlier = [{"question": fence_safe(t.question)} for t in history]
        fence = Fence.around([question, *texts, *titles, *designs, *(t["question"] for t in earlier)])
        system = self._env.get_template("system.j2").render(
            audience_description=style["description"], output=output, fence=fence, **common
        )
        template = "answer_json.j2" if output == "json" else "answer.j2"
        user = self._env.get_template(template).render(
            question=question, sources=views, history=earlier, style=style, fence=fence, **common,
        )
        return ChatPrompt(system=system.strip(), user=user.strip(), fence=fence)

    def condense(self, question: str, history: Sequence[Turn]) -> ChatPrompt:
        """Asks a model to rewrite a follow-up as one standalone question (the questions fenced as data)."""
        question = fence_safe(question)
        earlier = [{"question": fence_safe(t.question)} for t in history]
        fence = Fence.around([question, *(t["question"] for t in earlier)])
        user = self._env.get_template("condense.j2").render(question=question, history=earlier, fence=fence)
        system = self._env.get_template("condense_system.j2").render(fence=fence)
        return ChatPrompt(system=system.strip(), user=user.strip(), fence=fence)

    def judge(self, claim: str, passage: str) -> ChatPrompt:
        """Asks a model whether ``passage`` supports ``claim`` (one word: SUPPORTED or UNSUPPORTED); both are
        fenced as data (the claim is a model's sentence, the passage a document's)."""
        claim, passage = fence_safe(claim), fence_safe(passage)
        fence = Fence.around([claim, passage])
        user = self._env.get_template("judge.j2").render(claim=claim, passage=passage, fence=fence)
        system = self._env.get_template("judge_system.j2").render(fence=fence)
        return ChatPrompt(system=system.strip(), user=user.strip(), fence=fence)

    def digest(self, *templates: str) -> str:
        """sha256 of the named templates' sources, in order: it changes whenever one of them is edited."""
        found = hashlib.sha256()
        for name in templates:
            found.update(name.encode() + b"\0" + (self._directory / name).read_bytes() + b"\0")
        return found.hexdigest()

    @staticmethod
    def _common() -> dict[str, Any]:
        return {"titles": SECTION_TITLES, "no_evidence": NO_EVIDENCE_STATEMENTS, "limitations_title": LIMITATIONS_TITLE}

    def _style(self, audience: Audience) -> dict[str, str]:
        return _audience_style(self._env, audience)


def _attribute(value: str) -> str:
    """Untrusted text inside a tag's attribute: fence-safe, on one line, without double quotes or ">"."""
    return " ".join(fence_safe(value).split()).replace('"', "'").replace(">", "›")


class _TemplateFiles(FileSystemLoader):
    """Templates from a folder; a compiled template is reused while its file holds the same text. (Jinja's own check
    compares modification times, which the file system records with a coarse clock: a file rewritten within a few
    milliseconds looks unchanged.)"""

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, _ = super().get_source(environment, template)

        def unchanged() -> bool:
            try:
                return Path(filename).read_text(encoding=self.encoding) == source
            except OSError:
                return False

        return source, filename, unchanged


@lru_cache(maxsize=8)
def _environment(directory: str) -> SandboxedEnvironment:
    """One template environment per prompts folder and process, so that a template is compiled once, not once per
    ``Prompts`` (one is built with each set of components and each LLM judge; compiling the answer templates cost
    ~30 ms of CPU each time). A template edited on disk is read again (:class:`_TemplateFiles`)."""
    return SandboxedEnvironment(
        loader=_TemplateFiles(directory), undefined=StrictUndefined, autoescape=False,
        keep_trailing_newline=False, trim_blocks=True,
    )


def _audience_style(env: SandboxedEnvironment, audience: Audience) -> dict[str, str]:
    module = env.get_template(f"audience_{audience}.j2").module
    return {key: str(getattr(module, key)) for key in ("description", "guidelines", "research", "limitations")}
