"""Sentence segmentation that keeps character spans, tuned for clinical and scientific prose.

Rules: a blank line, a list item or a heading always starts a new unit; inside a paragraph a sentence ends at
'.', '!' or '?' followed by space and a capital, digit, quote or bracket, unless the word before the full stop is a
known abbreviation ("et al.", "vs.", "e.g.", "Fig.", "U.S.") or a single initial ("J. Smith"). Bracketed labels
right after a sentence's end ("... reduce alcohol misuse. (B recommendation)", "(Strong For; Reviewed, Amended)")
belong to that sentence when a new sentence or the paragraph's end follows them: guideline summaries grade a
recommendation after its full stop, and read as the start of the next sentence the grade would be quoted with the
wrong recommendation.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    """al approx ca cf dr e.g eg etc fig figs i.e ie incl jr mr mrs ms no nos prof ref refs resp sr st vs viz vol jan
    feb mar apr jun jul aug sep sept oct nov dec dept univ inc ltd co corp eq eqs ed eds est min max mg
    u.s u.k""".split()
)
_BLOCK_START = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+)|\n(?=#{1,6}[ \t])")
_BOUNDARY = re.compile(r"[.!?][\"')\]*]*+\s++(?=(?:\*\*|__|[\"'(\[])?[A-Z0-9])")
_LABELS = re.compile(r"\([^()\n]{1,80}\)(?:[ \t]*+\([^()\n]{1,80}\))*+(?:[ \t]*+\[\d{1,4}\])*+[.!?]?")
"""A run of short bracketed labels on one line: "(B recommendation)", "(Carryover from the 2008 CPG) (Strong For)",
with the citation markers an answer writes after them ("(I statement) [3]."); a full stop of its own ends it."""
_LIST_ENTRY_WORDS = 8
"""A list item of fewer words is an entry of its list ("P2: up to 750×10³/µL."), even when it ends with a full stop; a
longer one that ends with one is a sentence of its own, unless it opens on a label ("P1: a platelet count at or
below the baseline count.")."""
_ENTRY_LABEL = re.compile(r"\A[\w'-]++(?: [\w'-]++)?+: ")
_COUNTED = re.compile(r"\b(?P<n>two|three|four|five|six|seven|eight|nine|ten)\s++(?:[\w-]++\s++){0,5}?[\w-]++:$",
                      re.IGNORECASE)
"""An opening that says how many items follow ("... on three axes:", "four categories on the platelet axis:")."""
_LABEL_CHARS = 80
_NUMBER_WORDS = {word: n for n, word in enumerate("two three four five six seven eight nine ten".split(), start=2)}
_SENTENCE_OPENING = re.compile(r"(?:\*\*|__|[\"'(\[])?[A-Z0-9]")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.")
#: A list-item marker at the start of a line: "- ", "* ", "• ", "1. ", "2) ".
BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_ITEM_START = re.compile(r"(?<![ \t])[ \t]*+(?:[-*+•]|\d{1,3}[.)])[ \t]")  # a run of blanks is read once


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans ``(s, e)`` of the sentences in ``text[start:end]``, trimmed of surrounding whitespace."""
    return [span for block in _blocks(text, start, end) for span in _split_block(text, *block)]


def list_items(text: str) -> list[int | None]:
    """For each unit of ``text`` (as :func:`sentence_spans` numbers them), the number of the list item it belongs
    to, or None outside a list: the sentences of one item ("C recommendation, adults ...: offer counselling. The net
    benefit in this group is small, so ...") are one statement, quoted together."""
    items: list[int | None] = []
    for number, block in enumerate(_blocks(text, 0, len(text))):
        item = number if _ITEM_START.match(text, block[0], block[1]) else None
        items.extend(item for _ in _split_block(text, *block))
    return items


def _blocks(text: str, start: int, end: int | None) -> list[tuple[int, int]]:
    """The blocks of ``text[start:end]`` (paragraphs, list items, headings), as spans."""
    end = len(text) if end is None else end
    blocks = []
    block_start = start
    for match in _BLOCK_START.finditer(text, start, end):
        blocks.append((block_start, match.start()))
        block_start = match.end()
    blocks.append((block_start, end))
    return blocks


def _split_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    if text.startswith("#", start):
        line_end = text.find("\n", start, end)
        if line_end != -1:
            spans.append((start, line_end))
            start = line_end + 1
    sentence_start = start
    for match in _BOUNDARY.finditer(text, start, end):
        if match.start() < sentence_start or _is_abbreviation(text, sentence_start, match.start() + 1):
            continue  # a full stop inside labels already given to the sentence before
        stop, next_start = match.start() + len(match.group(0).rstrip()), match.end()
        labels = _LABELS.match(text, match.end(), end)
        if labels and (text[labels.end() - 1] in ".!?" or _opens_sentence_or_ends(text, labels.end(), end)):
            stop = next_start = labels.end()
        spans.append((sentence_start, stop))
        sentence_start = next_start
    spans.append((sentence_start, end))
    return [trimmed for span in spans if (trimmed := _trim(text, *span))]


def _opens_sentence_or_ends(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]``, past its blanks, is empty or opens a sentence (what may follow labels that
    close the sentence before them)."""
    while start < end and text[start].isspace():
        start += 1
    return start == end or _SENTENCE_OPENING.match(text, start, end) is not None


def _is_abbreviation(text: str, start: int, stop: int) -> bool:
    """True when the full stop ending ``text[start:stop]`` belongs to an abbreviation or an initial.

    The word before it is read backwards without a regex or a copy of the sentence: a search anchored at the end
    retries from every position of a long word (quadratic), and copying the sentence at every candidate full stop
    is quadratic in a sentence of many abbreviations. The runs read here end at different full stops and are
    separated by whitespace, so a whole text costs linear time."""
    end = stop - 1
    if end < start or text[end] != ".":
        return False
    first = end
    while first > start and text[first - 1] in _WORD_CHARS:
        first -= 1
    while first < end and text[first] == ".":
        first += 1
    if first == end:
        return False
    word = text[first:end].lower().rstrip(".")
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


_LEANING = re.compile(
    r"(?:It|They|Its|Their|He|She|Such|Both|Neither|Either|The differences?|"
    r"(?:This|These|That|Those) (?:is|was|were|are|has|had|effect|effects|difference|differences|finding|findings|"
    r"result|results|group|groups|patients|participants|cases|rate|rates)|"
    r"In (?:this|these|that|those|both|either|each) (?:group|groups|patients|participants|subgroup|cases?)|"
    r"Of (?:these|those|them)|Among (?:these|them|those)|In them)\b")
"""A sentence that leans on the one before it for its subject."""


def leans_on_previous(sentence: str) -> bool:
    """Whether a sentence leans on the one before it for its subject ("It was ...", "In this group, ...", "These
    patients ..."): quoted without that one, it reads as about something else."""
    return bool(_LEANING.match(sentence))


_EMPHASIS = re.compile(r"\*\*|__")
_POINTER = re.compile(r"(?:See|Refer to)\b|For (?:more|further) (?:information|details)\b[^.]{0,60}?\bsee\b")
"""A sentence that sends the reader elsewhere ("See the Clinical Considerations below for more information about
screening intervals.", 281 of the guideline summaries' sentences): it states nothing a clinician can act on."""
MIN_QUOTABLE_WORDS = 4
"""A shorter unit (a heading, a label, a fragment of a list) is not quoted on its own."""
_TITLE_WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}")
_PARENTHESES = re.compile(r"\([^()]*\)")
_ENDS_A_SENTENCE = re.compile(r"[.?!:;][)\]\"'’”]*$")


def is_heading(text: str) -> bool:
    """Whether a unit is a heading written as a line of its own: no closing punctuation, and every word of four
    letters or more outside brackets capitalised ("Management of Pharmacotherapy for Secondary Prevention (patients
    with a history of ASCVD or ACS)", "Screening in Women Aged 65 to 75 Years Who Have Ever Smoked"). Quoted, it
    reads as a claim the source never made; "Behavioral couples therapy for alcohol use disorder", an item of a
    list, is not one."""
    if _ENDS_A_SENTENCE.search(text.strip()):
        return False
    words = _TITLE_WORD.findall(_PARENTHESES.sub(" ", text))
    return bool(words) and all(word[0].isupper() for word in words)


def quotable_sentences(passage: str) -> list[tuple[int, str]]:
    """The sentences of a passage that can be quoted on their own, with their positions among its units: text
    without list marker, emphasis or line breaks; four words or more; no headings (marked, or written as a line of
    title-case words: :func:`is_heading`); no pointer elsewhere ("See the
    Clinical Considerations below ..."); no instruction to a model (rag.text.instructions). The composer quotes
    these and the sentence vectors are computed for exactly these texts."""
    from rag.text.instructions import instruction_spans  # it splits sentences with this module

    found = []
    addressed_to_a_model = {start for start, _ in instruction_spans(passage)}
    for position, (start, _, text) in enumerate(statement_spans(passage)):
        if start in addressed_to_a_model:
            continue
        if len(text.split()) >= MIN_QUOTABLE_WORDS and not text.startswith("#") and not _POINTER.match(text) \
                and not is_heading(text):
            found.append((position, text))
    return found


def statement_spans(passage: str) -> list[tuple[int, int, str]]:
    """Each unit of ``passage`` (as :func:`sentence_spans` numbers them) with its span and its text as it reads
    (:func:`plain`). A unit ending in a colon ("... recommends against using the following tests:") is read with the
    list items after it that are not sentences of their own ("Neuroimaging", "Serum biomarkers", "P2: up to
    750×10³/µL."), joined by semicolons, up to the labels that close the list ("(Strong Against; Reviewed,
    New-replaced)"), its span reaching the list's end. Its text is empty when no such item follows, or when the
    passage ends inside the list (its items may go on in the next passage) unless the opening said how many follow
    ("... on three axes:"): read alone, it announces advice it does not give."""
    spans = sentence_spans(passage)
    units = [passage[start:end] for start, end in spans]
    texts = [plain(unit) for unit in units]
    items = list_items(passage) if any(text.endswith(":") for text in texts) else []
    found = []
    for position, (start, end) in enumerate(spans):
        text = texts[position]
        if text.endswith(":"):
            text, last = _with_its_list(text, units[position + 1:], items[position + 1:])
            end = spans[position + last][1] if text else end
        found.append((start, end, text))
    return found


def _with_its_list(opening: str, units: list[str], items: list[int | None]) -> tuple[str, int]:
    """``opening`` with the list items among ``units`` (as written) that follow it (see :func:`statement_spans`), and
    how many units it then reaches past itself; ("", 0) when it cannot be read with a list."""
    listed: list[str] = []
    for number, (unit, item) in enumerate(zip(units, items, strict=True), start=1):
        text, bare = plain(unit), plain(_without_closing_labels(unit))
        if not bare:  # labels on a line of their own close the list
            return (f"{opening} {'; '.join(listed)} {text}", number) if listed else ("", 0)
        if item is None or (bare.endswith((".", "!", "?")) and len(bare.split()) >= _LIST_ENTRY_WORDS
                            and not _ENTRY_LABEL.match(bare)):
            return (f"{opening} {'; '.join(listed)}.", number - 1) if listed else ("", 0)
        listed.append(text.rstrip(" ,;."))
        if bare != text:  # the labels on the item's last line close the list
            return f"{opening} {'; '.join(listed)}", number
    counted = _COUNTED.search(opening)  # the passage ends: whole only if the opening said how many follow
    if counted and _NUMBER_WORDS.get(counted["n"].lower(), 0) == len(listed):
        return f"{opening} {'; '.join(listed)}.", len(listed)
    return "", 0


def _without_closing_labels(unit: str) -> str:
    """``unit`` (as written) without the bracketed labels that end it on a line of their own ("... ImPACT\n
    (Strong Against; Reviewed, New-replaced)"), each of at most 80 characters, read from the end. A bracket on the
    item's own line is its content ("Age (males >35 and females >45)")."""
    while (unit := unit.rstrip()).endswith(")"):
        opening = unit.rfind("(")
        inside = unit[opening + 1:-1]
        before = unit[:max(opening, 0)].rstrip(" \t")
        if opening < 0 or not 0 < len(inside) <= _LABEL_CHARS or any(c in inside for c in "()\n") or \
                (before and not before.endswith("\n") and not before.endswith(")")):
            break
        unit = before
    return unit


def plain(text: str) -> str:
    """``text`` as it reads: one line, without list markers or emphasis marks ("**Strong against** ketamine")."""
    return " ".join(_EMPHASIS.sub("", BULLET.sub("", text)).split())


def tidy(sentence: str) -> str:
    """One line, no list marker or stray emphasis, ending with punctuation."""
    text = " ".join(sentence.split()).strip(" *_").lstrip("-•+ ").rstrip(" ,;").strip()
    text = _without_dangling_punctuation(text)  # "No studies compared them; [2]." lost its marker
    if text and text[-1] not in ".!?:":
        text += "."
    return text


def _without_dangling_punctuation(text: str) -> str:
    """"them ; ." becomes "them.": commas, semicolons and colons (and blanks) right before the final full stop,
    question or exclamation mark are dropped. Read backwards from the end, in linear time (a pattern anchored at
    the end is retried from every position of a long run of blanks)."""
    if not text or text[-1] not in ".!?":
        return text
    end = len(text) - 1
    blanks = end
    while blanks > 0 and text[blanks - 1].isspace():
        blanks -= 1
    marks = blanks
    while marks > 0 and text[marks - 1] in ",;:":
        marks -= 1
    if marks == blanks:
        return text
    while marks > 0 and text[marks - 1].isspace():
        marks -= 1
    return text[:marks] + text[end]
