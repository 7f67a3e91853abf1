"""Citation styles models write instead of our [n] markers, mapped to source numbers when they identify a source
unambiguously: author-year ("Kang 2022", "(Kang et al., 2022)", "Kang and colleagues (2022)"), superscript numbers
("improved.²"), and numbers that refer to a reference list the model wrote itself. What cannot be identified is left
as it is, and the sentence goes through attribution like any uncited sentence."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rag.contract import Source
from rag.text.terms import content_terms

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUPERSCRIPT_RUN = re.compile(
    f"(?<=[A-Za-z.,;:)\\]])([{_SUPERSCRIPTS}]{{1,3}}(?:[,⁻–-][{_SUPERSCRIPTS}]{{1,3}}){{0,8}})")
_UNIT_BEFORE = re.compile(r"(?:^|[\s/(])(?:[kcm]?m|ft|in)$")  # m², cm², kg/m²: units, not citations
#: A surname starts a word (not inside one: tried from every letter of a long word, each try read up to 40 more) and
#: is taken whole; blanks are taken whole too (what follows them is never a blank), so nothing is read twice.
_NAME = r"(?<![A-Za-z'’])[A-Z][A-Za-z'’\-]{1,40}+"
_ETAL = r"(?:\s++et\s++al\.?|\s++and\s++colleagues|\s++and\s++co-?workers|\s++(?:and|&)\s++" + _NAME + r")?"
_YEAR = r"(?:19|20)\d\d[a-z]?"
#: "(Kang et al., 2022)", "(Kang 2022; Long et al. 2020)"
_PAREN_AUTHOR_YEAR = re.compile(r"\s?\(((?:" + _NAME + _ETAL + r",?\s++" + _YEAR + r"(?:\s*+[;,]\s*+)?){1,6})\)")
#: "Kang et al. (2022)", "Kang and colleagues (2022)"
_NARRATIVE_AUTHOR_YEAR = re.compile(r"(" + _NAME + _ETAL + r")\s++\((" + _YEAR + r")\)")
_ONE_AUTHOR_YEAR = re.compile(r"(" + _NAME + r")" + _ETAL + r",?\s++(" + _YEAR + r")")
_LEADING_NAME = re.compile(r"(?<!\s)\s*+" + _NAME)
_YEARS = re.compile(r"\b((?:19|20)\d\d)\b")
_LIST_ENTRY = re.compile(r"^\s*(?:[-*•]\s*)?\[?(\d{1,3})[\].):]?\s+(\S.*)$")


def superscripts_to_markers(text: str) -> str:
    """Superscript citation numbers after a word or punctuation become [n] markers ("scars.²,³" -> "scars.[2][3]");
    a superscript after a unit (m², cm²) is left alone."""
    def replace(match: re.Match[str]) -> str:
        if _UNIT_BEFORE.search(text[max(0, match.start() - 6):match.start()]):
            return match.group(0)
        digits = unicodedata.normalize("NFKC", match.group(1)).replace("⁻", "-").replace("–", "-")
        return f"[{digits}]"

    return _SUPERSCRIPT_RUN.sub(replace, text)


class SourceNames:
    """Which sources an author-year citation or a reference-list entry names: by first author surname and year
    (from the document's metadata, else its id, as in ``kang-2022-...``), title words, PMID or DOI. Sources of one
    publication are named together; a name that fits two publications names none."""

    def __init__(self, sources: Sequence[Source]) -> None:
        self._by_doc: dict[str, list[int]] = {}
        self._keys: dict[tuple[str, str], set[str]] = {}
        self._titles: dict[str, set[str]] = {}
        self._ids: dict[str, tuple[str, ...]] = {}
        for source in sources:
            hit = source.hit
            self._by_doc.setdefault(hit.doc_id, []).append(source.n)
            self._titles[hit.doc_id] = content_terms(hit.title)
            self._ids[hit.doc_id] = tuple(x.lower() for x in (hit.pmid, hit.doi) if x)
            for surname in _surnames(hit.authors, hit.doc_id):
                if hit.year:
                    self._keys.setdefault((surname, str(hit.year)), set()).add(hit.doc_id)

    def by_author_year(self, surname: str, year: str) -> list[int]:
        """The sources of the one publication whose first author is ``surname`` and year ``year`` (else none)."""
        docs = self._keys.get((_fold(surname), year[:4]), set())
        return list(self._by_doc[next(iter(docs))]) if len(docs) == 1 else []

    def by_entry(self, entry: str) -> list[int]:
        """The sources of the one publication a reference-list entry describes (else none)."""
        lowered = entry.lower()
        for doc_id, ids in self._ids.items():
            if any(identifier in lowered for identifier in ids):
                return list(self._by_doc[doc_id])
        named = {d for m in _ONE_AUTHOR_YEAR.finditer(entry)
                 for d in self._keys.get((_fold(m.group(1)), m.group(2)[:4]), set())}
        first = _LEADING_NAME.match(entry)
        if not named and first:  # "Asif M, Kanodia S. ... 2016."
            named = {d for year in _YEARS.findall(entry) for d in self._keys.get((_fold(first.group(0)), year), set())}
        if len(named) == 1:
            return list(self._by_doc[next(iter(named))])
        words = content_terms(entry)
        scores = {doc: len(words & title) / len(title) for doc, title in self._titles.items() if title}
        best = sorted(scores.items(), key=lambda item: -item[1])
        if best and best[0][1] >= 0.6 and (len(best) == 1 or best[1][1] < best[0][1] - 0.2):
            return list(self._by_doc[best[0][0]])
        return []


def author_years_to_markers(text: str, names: SourceNames) -> str:
    """Author-year citations that name one publication become its [n] markers; others are left as written."""
    def parenthetical(match: re.Match[str]) -> str:
        found = [n for m in _ONE_AUTHOR_YEAR.finditer(match.group(1))
                 for n in names.by_author_year(m.group(1), m.group(2))]
        return " " + "".join(f"[{n}]" for n in dict.fromkeys(found)) if found else match.group(0)

    def narrative(match: re.Match[str]) -> str:
        surname = match.group(1).split()[0]
        found = names.by_author_year(surname, match.group(2))
        return f"{match.group(1)} " + "".join(f"[{n}]" for n in found) if found else match.group(0)

    return _NARRATIVE_AUTHOR_YEAR.sub(narrative, _PAREN_AUTHOR_YEAR.sub(parenthetical, text))


def reference_list_map(block: str, names: SourceNames) -> dict[int, list[int]]:
    """The model's own reference list ("1. Kang et al. 2022. ...") as {its number: our source numbers}, for the
    entries that name one publication."""
    mapping: dict[int, list[int]] = {}
    for line in block.split("\n"):
        match = _LIST_ENTRY.match(line)
        if match and (found := names.by_entry(match.group(2))):
            mapping[int(match.group(1))] = found
    return mapping


def _surnames(authors: Sequence[str], doc_id: str) -> set[str]:
    """The first author's surname, as "Surname Initials" in the metadata or as the id's first word."""
    found = set()
    if authors:
        found.add(_fold(authors[0].split()[0]))
    head = doc_id.split("-", 1)[0]
    if head.isalpha() and len(head) > 2:
        found.add(_fold(head))
    return found


def _fold(name: str) -> str:
    """A surname without accents or case: "Estupiñán" -> "estupinan"."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).lower()
