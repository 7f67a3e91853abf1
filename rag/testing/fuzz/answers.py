"""Messy model output for the answer parser and verification: headings missing, duplicated or unknown, the model's
own reference list, code fences, and citations in every syntax a model writes ([1,2], [1-3], (1), [S2], [^2]) or
should not ([0], [99999999999], nested brackets, digits of other scripts, thousands of digits), over huge texts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from hypothesis import strategies as st

from rag.answer.assemble import assemble
from rag.answer.ground import REPEATED, Grounder
from rag.answer.parse import ParsedAnswer, parse_answer
from rag.config import VerificationSettings
from rag.contract import CITATION, NO_GUIDELINE, NO_RESEARCH, SECTION_TITLES, Source, citations_in
from rag.models import KINDS, Hit, Kind
from rag.testing.fuzz.common import huge_digits, line_ending, nested, prose, rarely, words
from rag.testing.fuzz.contract import ContractViolation

SOURCE_SENTENCES = (
    "No exosome product is approved by the FDA.", "Microneedling devices exclude delivery of drugs.",
    "In a split-face trial of 50 patients, PRP improved acne scars by 62.20% against 45.84%.",
    "Exosome gel reduced ECCA scores by 32.5% versus 19.9% (p<0.01).", "Few side effects were seen.", "",
    "- a bullet point\n- another one", "Smith et al. reported 3 cases. Fig. 2 shows them.",
)
HEADINGS = (
    "## From the Guidelines", "## From the Research", "**From the Guidelines:**", "**From the Research**",
    "Guidelines:", "Research:", "### References", "References", "Sources:", "## Limitations", "Limitations:",
    "Caveats", "# Answer", "## Summary", "GUIDELINES", "__Research__:", "## From the Guidelines and consensus",
    "Guidelines: the FDA says so [1].", "## Evidence from studies", "#", "**", "Bibliography",
)
NO_EVIDENCE_OPENINGS = (NO_GUIDELINE, NO_RESEARCH, "No studies compared them;", "There are no data on", "No direct")
CITATION_STYLES = (
    "[{a}]", "[{a}, {b}]", "[{a},{b}]", "[{a}-{b}]", "[{a}–{b}]", "[{a} — {b}]", "[{a}; {b}]", "({a})", "({a}, {b})",
    "[Source {a}]", "[source{a}]", "[S{a}]", "[s{a}]", "[^{a}]", "[ref. {a}]", "[Ref {a}]", "[[{a}]]", "[{a}[{b}]]",
    "[{a}[{b}]{a}]", "[{a}]{b}]", "[{a}", "{a}]", "[ {a} ]", "[{a}-]", "[-{a}]", "[{a}--{b}]", "[,{a}]", "[]", "[ ]",
    "[{a}][{b}]", "[{a}{b}]", "【{a}】", "[{a}.]", "({a}-{b})",
)
OTHER_DIGITS = (str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"), str.maketrans("0123456789", "０１２３４５６７８９"),
                str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"), str.maketrans("0123456789", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"))


@dataclass(frozen=True)
class AnswerInput:
    """A model's raw output and the numbered sources it was given."""

    raw: str
    sources: tuple[Source, ...]


def make_source(n: int, kind: Kind, text: str, start: int) -> Source:
    hit = Hit(doc_id=f"doc{n}", chunk_id=f"doc{n}#0", kind=kind, title=f"Title {n}", score=1.0, text=text,
              section="Results", span=(start, start + len(text)))
    return Source(n=n, hit=hit, text=text)


@st.composite
def source_lists(draw: st.DrawFn) -> tuple[Source, ...]:
    """Zero to six sources, usually numbered 1..k as the service numbers them, sometimes with gaps."""
    count = draw(st.integers(0, 6))
    numbers = list(range(1, count + 1))
    if draw(st.integers(0, 4)) == 0:
        numbers = sorted(draw(st.sets(st.integers(1, 10**12), min_size=count, max_size=count)))
    sources = []
    for n in numbers:
        parts = draw(st.lists(st.sampled_from(SOURCE_SENTENCES), min_size=1, max_size=3))
        parts += [draw(prose(10))] if rarely(draw) else []
        kind = draw(st.sampled_from(KINDS))
        sources.append(make_source(n, kind, " ".join(parts), draw(st.integers(0, 10**6))))
    return tuple(sources)


@cache
def numbers(given: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A citation number: a given one (sometimes in another script's digits) or one no source has."""
    other = st.one_of(
        st.sampled_from(["0", "-1", "99999999999", "007", " 1 "]), st.integers(0, 10**6).map(str), huge_digits(),
        st.tuples(st.sampled_from(given), st.sampled_from(OTHER_DIGITS)).map(lambda pair: pair[0].translate(pair[1])),
    )
    return st.one_of(st.sampled_from(given), other)


@st.composite
def citations(draw: st.DrawFn, sources: tuple[Source, ...]) -> str:
    style = draw(st.sampled_from(CITATION_STYLES))
    number = numbers(tuple(str(s.n) for s in sources) or ("1",))
    return style.format(a=draw(number), b=draw(number))


@st.composite
def answer_blocks(draw: st.DrawFn, sources: tuple[Source, ...]) -> str:
    """A heading, a reference list entry, or a paragraph of sentences with citations in them."""
    kind = draw(st.integers(0, 9))
    if kind < 3:
        return draw(st.sampled_from(HEADINGS))
    if kind == 3:
        return f"{draw(st.integers(1, 9))}. {draw(prose(6))}"
    vocabulary = st.sampled_from([word for source in sources for word in source.text.split()] or ["PRP"])
    sentences = []
    for _ in range(draw(st.integers(1, 4))):
        opening = f"{draw(st.sampled_from(NO_EVIDENCE_OPENINGS))} " if rarely(draw, 4) else ""
        parts = draw(st.lists(st.one_of(vocabulary, words(), citations(sources)), max_size=12))
        sentences.append(opening + " ".join(parts) + draw(st.sampled_from([".", ". ", "", "!", "?", ".\n"])))
    return " ".join(sentences)


@st.composite
def answer_inputs(draw: st.DrawFn) -> AnswerInput:
    """A model output: blocks of headings and cited prose, sometimes fenced, repeated into a huge text, or random."""
    sources = draw(source_lists())
    text = "\n".join(draw(st.lists(answer_blocks(sources), max_size=8)))
    shape = draw(st.integers(0, 9))
    if shape == 0:
        text = f"```markdown\n{text}\n```"
    elif shape == 1:
        text = text * (draw(st.sampled_from([10_000, 100_000, 400_000])) // max(1, len(text)))
    elif shape == 2:
        text = draw(st.one_of(st.text(), nested("[", "]", "7"), nested("[1", "]"), nested("[9[", "]", "1")))
    return AnswerInput(draw(line_ending(text)), sources)




def check_parse(item: AnswerInput) -> ParsedAnswer:
    """The parser never raises; what it keeps cites only given sources; what it removed is reported."""
    parsed = parse_answer(item.raw, item.sources)
    given = {s.n for s in item.sources}
    if set(parsed.sections) != {"guidelines", "research"}:
        raise ContractViolation(f"sections {sorted(parsed.sections)} are not the two answer sections")
    for name, text in parsed.sections.items():
        cited = set(citations_in(text))
        if not cited <= given:
            raise ContractViolation(f"section {name} cites {sorted(cited - given)}, which no source has")
    if CITATION.search(parsed.limitations):
        raise ContractViolation(f"the limitations keep a citation: {parsed.limitations[:200]!r}")
    if parsed.dangling != sorted(set(parsed.dangling)) or set(parsed.dangling) & given:
        raise ContractViolation(f"dangling numbers {parsed.dangling[:20]} are not the unknown numbers, sorted")
    return parsed


def check_verify(item: AnswerInput) -> None:
    """Grounding never raises; [n] in the answer are exactly the references 1..k, one per publication, each quote
    its source's text; no removed sentence is left in the answer."""
    from rag.testing.fakes import LexicalJudge

    parsed = check_parse(item)
    grounded = Grounder(LexicalJudge(), VerificationSettings()).ground(parsed.draft(), item.sources)
    assembled = assemble(grounded, item.sources, parsed.dangling)
    sections, references, grounding = assembled.sections, assembled.references, assembled.grounding
    if [r.n for r in references] != list(range(1, len(references) + 1)):
        raise ContractViolation(f"references are not numbered 1..k: {[r.n for r in references]}")
    cited = {n for section in sections for n in citations_in(section.text)}
    if cited != {r.n for r in references}:
        raise ContractViolation(f"the answer cites {sorted(cited)} but the references are 1..{len(references)}")
    if {n for numbers in assembled.cited.values() for n in numbers} != cited:
        raise ContractViolation(f"assembly says the sections cite {assembled.cited}, their text {sorted(cited)}")
    if [s.title for s in sections] != list(SECTION_TITLES.values()):
        raise ContractViolation(f"sections {[s.title for s in sections]} are not the two answer sections")
    sources = {s.hit.chunk_id: s for s in item.sources}
    if len({r.doc_id for r in references}) != len(references):
        raise ContractViolation("a publication has two reference numbers")
    for reference in references:
        for quote in reference.quotes:
            source = sources.get(quote.chunk_id)
            if source is None or source.hit.doc_id != reference.doc_id:
                raise ContractViolation(f"reference {reference.n} quotes no source of its own: {quote.chunk_id!r}")
            start, end = (position - source.hit.span[0] for position in quote.span)
            if not 0 <= start <= end <= len(source.text) or source.text[start:end] != quote.text:
                raise ContractViolation(f"reference {reference.n}: span {quote.span} is not its quote in the source")
    if set(grounding.misrouted) - {s.n for s in item.sources} or grounding.dangling != parsed.dangling:
        raise ContractViolation("grounding names citations that were never given")
    text = " ".join(section.text for section in sections)
    for removal in grounding.removed:
        if removal.sentence in text and len(removal.sentence) > 20 and removal.reason != REPEATED:
            raise ContractViolation(f"a removed sentence is still in the answer: {removal.sentence[:80]!r}")
