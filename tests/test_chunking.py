"""The chunker with the real word-piece tokenizer of the packaged model (tokenizer only: no torch needed)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from rag.chunking import Chunker
from rag.config import ChunkSettings
from rag.embedding import SentenceTransformerEmbedder
from rag.errors import ConfigError
from rag.loaders import LoadOptions, discover, load_file
from rag.models import Document, DocumentMeta
from tests.helpers.paths import ROOT


@pytest.fixture(scope="module")
def tokenizer() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


def corpus_documents() -> list[Document]:
    docs = []
    for path in discover([ROOT / "corpus"]):
        assert isinstance(path, Path)
        docs.extend(d for d in load_file(path, "auto", LoadOptions(), 10**7) if isinstance(d, Document))
    return docs


def make_doc(parts: list[tuple[str, str]], title: str = "A title") -> Document:
    return Document.from_sections(DocumentMeta(id="d1", kind="study", title=title), parts, "test")


def test_every_corpus_chunk_fits_the_model_and_keeps_its_exact_span(tokenizer: SentenceTransformerEmbedder) -> None:
    chunker = Chunker(ChunkSettings(), tokenizer)
    documents = corpus_documents()
    assert len(documents) >= 40
    for document in documents:
        chunks = chunker.chunk(document)
        assert chunks, document.id
        for chunk in chunks:
            assert chunk.token_count <= 200 <= tokenizer.max_tokens, (chunk.id, chunk.token_count)
            assert document.text[chunk.start : chunk.end] == chunk.text
            assert chunk.embed_text.endswith(chunk.text) and document.meta.title.split()[0] in chunk.embed_text
            section = next(s for s in document.sections if s.title == chunk.section)
            assert section.start <= chunk.start < chunk.end <= section.end


def test_chunk_ids_are_deterministic_and_change_only_with_content(tokenizer: SentenceTransformerEmbedder) -> None:
    chunker = Chunker(ChunkSettings(max_tokens=64, overlap_tokens=10), tokenizer)
    parts = [("Results", " ".join(f"Finding {i} was observed in the treated group." for i in range(20)))]
    first = chunker.chunk(make_doc(parts))
    assert [c.id for c in first] == [c.id for c in chunker.chunk(make_doc(parts))]
    edited = [("Results", parts[0][1].replace("Finding 19 was", "Finding 19 was not"))]
    second = chunker.chunk(make_doc(edited))
    assert [c.id for c in first[:-1]] == [c.id for c in second[:-1]] and first[-1].id != second[-1].id
    assert len({c.id for c in first}) == len(first)


def test_overlap_repeats_trailing_sentences_and_never_crosses_sections(tokenizer: SentenceTransformerEmbedder) -> None:
    chunker = Chunker(ChunkSettings(max_tokens=64, overlap_tokens=20), tokenizer)
    text = " ".join(f"Sentence number {i} is here." for i in range(30))
    chunks = chunker.chunk(make_doc([("One", text), ("Two", "Short second section.")]))
    one = [c for c in chunks if c.section == "One"]
    assert len(one) >= 3
    for previous, current in itertools.pairwise(one):
        assert current.start < previous.end, "consecutive chunks overlap"
        assert current.start > previous.start
    assert chunks[-1].section == "Two" and chunks[-1].text == "Short second section."


def test_a_sentence_longer_than_the_budget_is_split_between_words(tokenizer: SentenceTransformerEmbedder) -> None:
    chunker = Chunker(ChunkSettings(max_tokens=48, overlap_tokens=0), tokenizer)
    long_sentence = " ".join(f"word{i}" for i in range(200)) + "."
    chunks = chunker.chunk(make_doc([("Body", long_sentence)]))
    assert len(chunks) > 3 and all(c.token_count <= 48 for c in chunks)
    assert " ".join(c.text for c in chunks) == long_sentence


def test_long_title_prefix_is_counted_and_shortened(tokenizer: SentenceTransformerEmbedder) -> None:
    chunker = Chunker(ChunkSettings(max_tokens=64, overlap_tokens=0), tokenizer)
    title = " ".join(["Extraordinarily long title words"] * 40)
    chunks = chunker.chunk(make_doc([("Body", "One short sentence. " * 30)], title=title))
    assert all(c.token_count <= 64 for c in chunks)


def test_chunk_size_above_the_model_limit_is_refused(tokenizer: SentenceTransformerEmbedder) -> None:
    with pytest.raises(ConfigError, match="exceeds"):
        Chunker(ChunkSettings(max_tokens=512, overlap_tokens=10), tokenizer)


def test_a_list_stays_with_its_opening_up_to_what_the_embedder_reads(tokenizer: SentenceTransformerEmbedder) -> None:
    opening = ("Excluding patients with indicators for immediate referral, the Work Group suggests against using the "
               "following tests to establish the diagnosis or direct the care of patients with a history of mTBI:")
    items = ["Neuroimaging", "Serum biomarkers, including S100-B, GFAP, UCH-L1, NSE and AMPAR peptide",
             "Electroencephalogram (EEG)"]
    before = " ".join(f"- Recommendation {i} says to evaluate patients who present with symptoms." for i in range(4))
    body = before + "\n- " + opening + "\n" + "".join(f" - {item}\n" for item in items) + " (Weak Against)\n" + \
        "- The Work Group recommends against comprehensive testing during the first 30 days."
    whole = body[body.index("- Excluding") + 2: body.index("(Weak Against)") + len("(Weak Against)")]
    chunker = Chunker(ChunkSettings(max_tokens=64, overlap_tokens=0), tokenizer)
    chunks = chunker.chunk(make_doc([("Recommendations", body)]))
    holding = [c for c in chunks if "following tests" in c.text]
    assert len(holding) == 1 and holding[0].text.strip(" -") == whole.strip()
    assert 64 < holding[0].token_count <= tokenizer.max_tokens  # longer than the budget, read whole by the model
    assert all(c.token_count <= 64 for c in chunks if c is not holding[0])
    # a list the model cannot read whole is packed as before: sentence by sentence within the budget
    long_items = "".join(f" - Item {i} is a test named here with several words in it\n" for i in range(40))
    cut = chunker.chunk(make_doc([("Recommendations", "- " + opening + "\n" + long_items)]))
    assert len(cut) > 3 and all(c.token_count <= 64 for c in cut)
