"""Building blocks shared by the fuzz strategies: awkward words, line endings, encodings and byte-level damage."""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from rag.models import Kind

#: Words of the domain, with the punctuation and abbreviations that trip sentence splitters.
WORDS = (
    "PRP", "exosome", "microneedling", "acne", "scars", "improved", "patients", "trial", "guideline", "FDA",
    "62.20%", "p<0.01", "n=50", "et al.", "vs.", "e.g.", "Fig. 2", "µg/mL", "≥18", "α-blocker", "COVID-19",
    "10.1000/xyz", "12345", "1,000", "−3", "0.5", "Smith J.", "(95% CI 1.2–3.4)", "'quoted'", '"double"', "a:b",
)
#: Characters that break naive text handling: BOM, NUL and control bytes, separators, bidi and zero-width marks,
#: combining accents, digits of other scripts, a character outside the BMP.
AWKWARD = (
    "\ufeff", "\x00", "\x07", "\t", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\u200b", "\u202e",
    "e\u0301", "٣", "²", "１", "𝟙", "…", "–", "—", "\ufffe", "\U0001f600", "", " ", "  ",
)
#: Byte sequences that are not, or not only, UTF-8 text.
AWKWARD_BYTES = (
    b"\xff", b"\xfe", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf", b"\r", b"\r\n", b"\n",
    b"\x1b[31m", b"\x80\x81\x82", b"\xf4\x90\x80\x80",
)

#: ``--kind`` as a caller gives it: mostly not at all.
KIND_OPTIONS: tuple[Kind | None, ...] = (None, None, "study", "guideline")


@st.composite
def _word(draw: st.DrawFn) -> str:
    roll = draw(st.integers(0, 9))
    if roll < 8:
        return draw(st.sampled_from(WORDS))
    return draw(st.sampled_from(AWKWARD)) if roll == 8 else draw(st.text(max_size=10))


@cache
def words() -> st.SearchStrategy[str]:
    """One word: usually from the domain, sometimes awkward characters or arbitrary text."""
    return _word()


@cache
def prose(max_words: int = 30) -> st.SearchStrategy[str]:
    """A run of words, sometimes ending in a full stop."""
    return st.builds(lambda ws, end: " ".join(ws) + end, st.lists(words(), max_size=max_words),
                     st.sampled_from(["", ".", ". ", "!", "?", ":", ";"]))


@st.composite
def line_ending(draw: st.DrawFn, text: str) -> str:
    """``text`` with its newlines as LF, CRLF, CR, or a mix of them."""
    ending = draw(st.sampled_from(["\n", "\n", "\r\n", "\r", "mixed"]))
    if ending != "mixed":
        return text.replace("\n", ending)
    ends = draw(st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=2, max_size=5))
    *lines, last = text.split("\n")
    return "".join(line + ends[i % len(ends)] for i, line in enumerate(lines)) + last


def rarely(draw: st.DrawFn, one_in: int = 5) -> bool:
    """True about once in ``one_in`` draws: keeps most inputs valid enough to reach the code behind validation."""
    return draw(st.integers(0, one_in - 1)) == 0


@st.composite
def encoded(draw: st.DrawFn, text: str) -> bytes:
    """``text`` in an encoding other than plain UTF-8: with a BOM, UTF-16, Latin-1 or Windows-1252."""
    encoding = draw(st.sampled_from(["utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    if encoding.startswith("utf-8"):
        return text.encode(encoding, errors="surrogatepass")
    return text.encode(encoding, errors="replace")


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, with bytes inserted, deleted, repeated or flipped (one to three times)."""
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "insert", "delete", "repeat", "flip"]))
        at = draw(st.integers(0, len(data)))
        if op == "truncate":
            data = data[:at]
        elif op == "insert":
            data = data[:at] + draw(st.one_of(st.sampled_from(AWKWARD_BYTES), st.binary(max_size=8))) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 16)):]
        elif op == "repeat":
            data = data[:at] + data[at:at + draw(st.integers(1, 64))] * draw(st.integers(2, 50)) + data[at:]
        elif at < len(data):
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    return data


@st.composite
def text_to_bytes(draw: st.DrawFn, text: str) -> bytes:
    """A generated text file as bytes: its line endings varied; mostly UTF-8, sometimes in another encoding or
    damaged at the byte level."""
    text = draw(line_ending(text))
    roll = draw(st.integers(0, 9))
    if roll < 6:
        return text.encode("utf-8", errors="surrogatepass")
    return draw(encoded(text)) if roll < 8 else draw(damaged(text.encode("utf-8", errors="surrogatepass")))


@cache
def huge_digits() -> st.SearchStrategy[str]:
    """A run of digits, sometimes longer than Python converts to int without complaint (4300 digits)."""
    return st.builds(lambda digit, n: digit * n, st.sampled_from("19"), st.sampled_from([11, 19, 20, 4300, 4301, 6000]))


@cache
def nested(opening: str, closing: str, inner: str = "") -> st.SearchStrategy[str]:
    """``inner`` wrapped in a few to tens of thousands of levels of the same brackets or tags."""
    return st.builds(lambda depth: opening * depth + inner + closing * depth,
                     st.sampled_from([1, 5, 100, 990, 1100, 3000]))
