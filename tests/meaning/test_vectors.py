"""Sentence vectors are encoded once, kept on disk by model and text, and never lost or mixed up."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.meaning.vectors import FILE_NAME, SentenceVectors
from rag.testing.fakes import HashEmbedder


def test_vectors_are_encoded_once_and_read_back_by_another_process(tmp_path: Path) -> None:
    encoder = HashEmbedder()
    store = SentenceVectors(encoder, tmp_path / FILE_NAME)
    first = store.get(["PRP improved acne scars.", "No serious adverse events occurred.", "PRP improved acne scars."])
    assert encoder.embedded == ["PRP improved acne scars.", "No serious adverse events occurred."]
    assert np.allclose(first[0], first[2]) and np.allclose(first[0], encoder.embed_query("PRP improved acne scars."),
                                                           atol=1e-3)
    store.close()
    again = HashEmbedder()
    reopened = SentenceVectors(again, tmp_path / FILE_NAME)
    assert np.array_equal(reopened.get(["No serious adverse events occurred."])[0], first[1]), "rounded alike"
    assert again.calls == 0, "read from the store, not encoded"


def test_fill_encodes_only_what_is_missing(tmp_path: Path) -> None:
    encoder = HashEmbedder()
    store = SentenceVectors(encoder, tmp_path / FILE_NAME)
    assert store.fill(["a b c d", "e f g h", "a b c d"]) == 2
    assert store.fill(["a b c d", "i j k l"]) == 1
    assert encoder.embedded == ["a b c d", "e f g h", "i j k l"]


def test_another_model_never_reads_these_vectors(tmp_path: Path) -> None:
    SentenceVectors(HashEmbedder(dimension=256), tmp_path / FILE_NAME).fill(["shared sentence text here"])
    other = HashEmbedder(dimension=64)
    vector = SentenceVectors(other, tmp_path / FILE_NAME).get(["shared sentence text here"])
    assert other.calls == 1 and vector.shape == (1, 64)


def test_a_store_that_cannot_be_opened_leaves_vectors_in_memory(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).mkdir()  # something else in its place: not a database
    encoder = HashEmbedder()
    store = SentenceVectors(encoder, tmp_path / FILE_NAME)
    assert store.get(["one two three four", "five six seven eight"]).shape == (2, 256)
    store.get(["one two three four"])
    assert encoder.calls == 1


def test_without_a_file_vectors_live_in_memory(tmp_path: Path) -> None:
    encoder = HashEmbedder()
    store = SentenceVectors(encoder, tmp_path / "missing-dir" / FILE_NAME)
    store.get(["one two three four"])
    store.get(["one two three four"])
    assert encoder.calls == 1 and not (tmp_path / "missing-dir").exists()
