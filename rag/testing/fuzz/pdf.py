"""PDF files written object by object, so that their structure can be wrong in the ways damaged PDFs are: page trees
that loop, counts and lengths that lie, filters on data they do not fit, an /Encrypt entry, a broken cross-reference
table; then, sometimes, byte-level damage."""

from __future__ import annotations

from hypothesis import strategies as st

from rag.loaders.base import LoadOptions
from rag.testing.fuzz.common import KIND_OPTIONS, damaged, prose, rarely
from rag.testing.fuzz.contract import LoaderInput

PAGES_OBJECTS = (
    "<< /Type /Pages /Kids [{kids}] /Count {count} >>",
    "<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
    "<< /Type /Pages /Kids [{kids}] /Count 99999999999 >>",
    "<< /Type /Pages /Kids 3 0 R /Count 1 >>",
    "<< /Type /Pages /Count {count} >>",
)
CONTENT_DICTS = (
    "<< /Length {length} >>", "<< /Length 999999 >>", "<< /Length -1 >>", "<< /Length {length} /Filter /FlateDecode >>",
    "<< /Length {length} /Filter /ASCIIHexDecode >>", "<< /Length {length} /Filter /LZWDecode >>", "<< >>",
    "<< /Length 2 0 R >>",
)
FONTS = ("/Helvetica", "/Symbol", "/NoSuchFont", "")
TRAILERS = (
    "<< /Size {size} /Root 1 0 R{info} >>", "<< /Size {size} /Root 1 0 R /Encrypt << /Filter /Standard /V 1 >> >>",
    "<< /Size {size} /Root 99 0 R >>", "<< /Size {size} >>", "<< /Size {size} /Root 1 0 R /Prev 0 >>",
)


def pdf_string(text: str) -> str:
    """``text`` as a PDF literal string body (Latin-1 only; backslashes and parentheses escaped)."""
    latin = text.encode("latin-1", errors="replace").decode("latin-1")
    return latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


@st.composite
def pdf_sources(draw: st.DrawFn) -> LoaderInput:
    """A PDF of a few pages of text, usually well formed, sometimes with one structural lie or byte damage."""
    pages = draw(st.lists(prose(8).map(pdf_string), min_size=0, max_size=3))
    odd = rarely(draw, 3)
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        kids.append(f"{len(objects) + 1} 0 R")
        font = draw(st.sampled_from(FONTS)) if odd else "/Helvetica"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {len(objects) + 2} 0 R "
                       f"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont {font} >> >> >> >>")
        stream_dict = draw(st.sampled_from(CONTENT_DICTS)) if odd else CONTENT_DICTS[0]
        objects.append(f"{stream_dict.format(length=len(content))}\nstream\n{content}\nendstream")
    pages_object = draw(st.sampled_from(PAGES_OBJECTS)) if odd else PAGES_OBJECTS[0]
    objects[1] = pages_object.format(kids=" ".join(kids), count=len(pages))
    info = ""
    if draw(st.booleans()):
        objects.append(f"<< /Title ({pdf_string(draw(prose(6)))}) >>")
        info = f" /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out) + (draw(st.integers(-20, 20)) if odd and rarely(draw) else 0))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{max(offset, 0):010d} 00000 n \n" for offset in offsets).encode()
    trailer = draw(st.sampled_from(TRAILERS)) if odd else TRAILERS[0]
    out += f"trailer\n{trailer.format(size=len(objects) + 1, info=info)}\nstartxref\n{xref}\n%%EOF\n".encode()
    raw = draw(damaged(bytes(out))) if rarely(draw, 4) else bytes(out)
    return LoaderInput(raw, draw(st.sampled_from(["report.pdf", "Guideline Report.pdf"])),
                       LoadOptions(kind=draw(st.sampled_from(KIND_OPTIONS))))
