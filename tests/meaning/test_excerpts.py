"""What a model is shown: the sentences of each source that address the question, under the source's own number."""

from __future__ import annotations

from pathlib import Path

from rag.factory import Components
from rag.testing import ScriptedGenerator
from tests.helpers.documents import WriteDoc

QUESTION = "Did PRP with microneedling improve acne scars against distilled water?"


def prompt_for(components: Components) -> str:
    llm = ScriptedGenerator(["## From the Research\nPRP with microneedling improved acne scars by 62.20% [2]."])
    answer = components.answers(llm=llm).answer(QUESTION, backend="openai")
    assert answer.sections[1].evidence_found
    return str(llm.requests[0].prompt.user)  # type: ignore[attr-defined]


def test_a_model_sees_only_addressing_sentences_of_addressing_publications(components: Components,
                                                                          write_doc: WriteDoc,
                                                                          tmp_path: Path) -> None:
    write_doc("g/fda.md", kind="guideline", title="FDA exosome notice",
              body="## Notice\nNo exosome product is approved by the FDA for any use.")
    write_doc("s/prp.md", title="PRP microneedling acne scar trial",
              body="## Results\nPRP with microneedling improved acne scars by 62.20% against distilled water with "
                   "microneedling. Recruitment took place at two hospitals in Lahore between 2014 and 2015.")
    components.ingestor().run([tmp_path / "src"])
    settings = components.settings  # on the hash embedder's scale a sentence is judged by its own words
    components.settings = settings.model_copy(update={"meaning": settings.meaning.model_copy(
        update={"sentence_weight": 1.0})})
    shown = prompt_for(components)
    assert "62.20%" in shown and "Lahore" not in shown, "a sentence off the question is left out"
    assert "No exosome product" not in shown, "a publication that does not address it is not shown"
    settings = components.settings
    components.settings = settings.model_copy(update={"generation": settings.generation.model_copy(
        update={"excerpts": False})})
    whole = prompt_for(components)
    assert "Lahore" in whole and "No exosome product" in whole
