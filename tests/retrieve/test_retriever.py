"""The hybrid retriever on a small index (fake embedder, real Chroma and FTS5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import UserError
from rag.factory import Components
from rag.filters import Filters
from rag.retrieve.retriever import FINDINGS_PER_DOCUMENT
from rag.store.filtering import chroma_where
from rag.testing import KeywordReranker
from tests.helpers.chroma import embedded_only
from tests.helpers.documents import WriteDoc


@pytest.fixture
def indexed(components: Components, write_doc: WriteDoc, tmp_path: Path) -> Components:
    write_doc("g/fda.md", kind="guideline", organization="FDA", year=2019, study_design="regulatory",
              body="## Notice\nNo exosome product is approved. Exosome products need premarket review.")
    write_doc("g/misev.md", kind="guideline", organization="ISEV", year=2018, study_design="position-statement",
              body="## Scope\nExtracellular vesicle nomenclature and minimal reporting standards.")
    for i in range(30):
        design, level = [("rct", 2), ("meta-analysis", 1), ("case-report", 4)][i % 3]
        write_doc(f"s/study{i:02d}.md", year=2000 + i, study_design=design, evidence_level=level,
                  body=f"## Results\nExosome and platelet rich plasma study {i} with microneedling for scars. "
                       f"Outcome {i} improved.")
    write_doc("s/zebra.md", year=2015, body="## Results\nA rare term zygomorphic appears only here.")
    report = components.ingestor().run([tmp_path / "src"])
    assert report.failed == [] and report.added == 33
    return components


def test_hybrid_hits_carry_component_ranks_and_fused_scores(indexed: Components) -> None:
    hits = indexed.retriever().search("exosome product approved premarket review", k=5)
    assert hits[0].doc_id == "fda"
    top = hits[0]
    assert top.dense_rank == 1 and top.lexical_rank == 1
    assert top.fused_score == pytest.approx(2 / 61, abs=1e-6) and top.score == top.fused_score
    assert all(h.dense_rank or h.lexical_rank for h in hits)


def test_modes(indexed: Components) -> None:
    retriever = indexed.retriever()
    lexical = retriever.search("zygomorphic", k=3, mode="lexical")
    assert lexical[0].doc_id == "zebra" and lexical[0].dense_rank is None and lexical[0].lexical_rank == 1
    dense = retriever.search("zygomorphic", k=3, mode="dense")
    assert all(h.lexical_rank is None for h in dense)
    with pytest.raises(UserError, match="mode"):
        retriever.search("x", mode="sparse")  # type: ignore[arg-type]


def test_sections_have_their_own_quota_so_studies_cannot_crowd_out_guidelines(indexed: Components) -> None:
    retriever = indexed.retriever()
    mixed = retriever.search("exosome platelet rich plasma microneedling scars", k=5)
    assert all(h.kind == "study" for h in mixed), "in one list the many studies win"
    sections = retriever.search_sections("exosome platelet rich plasma microneedling scars", 2, 4)
    assert [h.kind for h in sections.guidelines] == ["guideline", "guideline"]
    assert len(sections.studies) == 4 and all(h.kind == "study" for h in sections.studies)
    only_studies = retriever.search_sections("exosome", 0, 3)
    assert only_studies.guidelines == [] and len(only_studies.studies) == 3


@pytest.mark.parametrize(
    ("filters", "check"),
    [
        (Filters(kinds=("guideline",)), lambda h: h.kind == "guideline"),
        (Filters(year_from=2020, year_to=2024), lambda h: h.year is not None and 2020 <= h.year <= 2024),
        (Filters(study_designs=("meta-analysis",)), lambda h: h.study_design == "meta-analysis"),
        (Filters(doc_ids=("study03", "study07")), lambda h: h.doc_id in {"study03", "study07"}),
        (Filters(kinds=("study",), year_to=2005, study_designs=("rct",)),
         lambda h: h.kind == "study" and h.year <= 2005 and h.study_design == "rct"),
    ],
)
def test_filters_apply_to_both_retrievers(indexed: Components, filters: Filters, check: object) -> None:
    for mode in ("hybrid", "dense", "lexical"):
        hits = indexed.retriever().search("exosome scars outcome improved approved", k=20, filters=filters,
                                          mode=mode)  # type: ignore[arg-type]
        assert hits, (filters, mode)
        assert all(check(h) for h in hits), (filters, mode)  # type: ignore[operator]


def test_filters_excluding_everything_return_nothing(indexed: Components) -> None:
    assert indexed.retriever().search("exosome", filters=Filters(doc_ids=())) == []
    assert indexed.retriever().search("exosome", filters=Filters(year_from=2090)) == []
    assert indexed.retriever().search_sections("exosome", filters=Filters(kinds=("study",))).guidelines == []


def test_within_narrows_to_documents_and_merged_adds_only_new_chunks(indexed: Components) -> None:
    assert Filters().within({"study07", "study03"}).doc_ids == ("study03", "study07")
    assert Filters(doc_ids=("study03", "study09")).within({"study03", "study07"}).doc_ids == ("study03",)
    retriever = indexed.retriever()
    found = retriever.search_sections("exosome")
    more = retriever.search_sections("acne scars", filters=Filters().within({"study03"}))
    merged = found.merged(more)
    assert merged.studies[: len(found.studies)] == found.studies, "what was found first stays first"
    added = merged.studies[len(found.studies):]
    assert {h.doc_id for h in added} <= {"study03"}
    chunk_ids = [h.chunk_id for h in merged.studies]
    assert len(chunk_ids) == len(set(chunk_ids)), "no chunk twice"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"kind": "study"}, "'kind' is not a known field"),
        ({"year_from": "recent"}, "year_from"),
        ({"year_from": 2020, "year_to": 2010}, "year_from must not be after year_to"),
        ({"study_designs": ["anecdote"]}, "study_designs"),
    ],
)
def test_bad_filters_are_clear_errors(raw: dict[str, object], message: str) -> None:
    with pytest.raises(UserError, match=message):
        Filters.parse(raw)


@embedded_only
@pytest.mark.parametrize(
    ("query", "k", "message"),
    [("", 3, "empty"), ("  \n ", 3, "empty"), ("x" * 2001, 3, "limit is 2000"), ("ok", 0, "between 1 and 100"),
     ("ok", 101, "between 1 and 100"), ("ok", -1, "between 1 and 100")],
)
def test_bad_queries(indexed: Components, query: str, k: int, message: str) -> None:
    with pytest.raises(UserError, match=message):
        indexed.retriever().search(query, k=k)


@embedded_only
def test_bad_section_quota(indexed: Components) -> None:
    with pytest.raises(UserError, match="study_k"):
        indexed.retriever().search_sections("exosome", 2, -1)


def test_per_document_cap_and_evidence_tie_break(components: Components, write_doc: WriteDoc,
                                                 tmp_path: Path) -> None:
    long_body = "## Results\n" + " ".join(f"Exosome finding {i} was repeated in this trial." for i in range(60))
    write_doc("long.md", body=long_body)
    components.ingestor().run([tmp_path / "src"])
    assert len(components.index.catalog.chunk_ids(["long"])["long"]) >= 3
    hits = components.retriever().search("exosome finding repeated trial", k=5)
    assert [h.doc_id for h in hits] == ["long", "long"], "max_chunks_per_doc defaults to 2"


def test_tie_breakers_order_equal_scores_by_evidence(components: Components, write_doc: WriteDoc,
                                                     tmp_path: Path) -> None:
    body = "## Results\nIdentical wording about microneedling outcomes."
    write_doc("case.md", title="Same title", study_design="case-report", evidence_level=4, year=2024, body=body)
    write_doc("meta.md", title="Same title", study_design="meta-analysis", evidence_level=1, year=2010, body=body)
    components.ingestor().run([tmp_path / "src"])
    settings = components.settings.retrieval.model_copy(update={"near_duplicate": 1.01})  # keep exact duplicates
    from rag.retrieve import Retriever

    hits = Retriever(components.index, components.embedder, settings).search("microneedling outcomes", k=2)
    assert [h.doc_id for h in hits] == ["meta", "case"]
    recency = settings.model_copy(update={"tie_breakers": ("recency",)})
    hits = Retriever(components.index, components.embedder, recency).search("microneedling outcomes", k=2)
    assert [h.doc_id for h in hits] == ["case", "meta"]
    deduplicated = Retriever(components.index, components.embedder, components.settings.retrieval)
    assert len(deduplicated.search("microneedling outcomes", k=2)) == 1, "identical passages are near-duplicates"


def test_reranker_seam_reorders_the_head(indexed: Components) -> None:
    reranker = KeywordReranker()
    hits = indexed.retriever(reranker=reranker).search("zygomorphic exosome", k=3)
    assert reranker.calls and reranker.calls[0][0] == "zygomorphic exosome"
    assert hits[0].rerank_score is not None and hits[0].score == hits[0].rerank_score
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@embedded_only
def test_configured_reranker_path_must_be_a_model(settings_with_reranker: Components) -> None:
    from rag.errors import ConfigError

    with pytest.raises(ConfigError, match="cross-encoder"):
        settings_with_reranker.retriever()


@pytest.fixture
def settings_with_reranker(settings: object, embedder: object, tmp_path: Path) -> Components:
    from rag.config import RetrievalSettings, Settings

    assert isinstance(settings, Settings)
    configured = settings.model_copy(update={"retrieval": RetrievalSettings(reranker_path=tmp_path / "nothing")})
    return Components(configured, embedder=embedder)  # type: ignore[arg-type]


def test_langchain_adapter(indexed: Components) -> None:
    from langchain_core.retrievers import BaseRetriever

    from rag.integrations.langchain import RagRetriever

    adapter = RagRetriever(retriever=indexed.retriever(), k=2, kind="guideline")
    assert isinstance(adapter, BaseRetriever)
    documents = adapter.invoke("exosome approval")
    assert next(d.metadata["doc_id"] for d in documents) == "fda" and len(documents) == 2
    assert documents[0].page_content.startswith("No exosome product") and documents[0].id
    assert all(d.metadata["kind"] == "guideline" for d in documents)


def test_bm25_ignores_very_common_query_terms_but_keeps_the_rarest(components: Components, write_doc: WriteDoc,
                                                                    tmp_path: Path) -> None:
    from rag.store.lexical import SqliteLexicalIndex

    for i in range(20):
        write_doc(f"c{i:02d}.md", body=f"## Results\nCommon words everywhere in passage {i}.")
    write_doc("rare.md", body="## Results\nCommon words plus quasquicentennial here.")
    components.ingestor().run([tmp_path / "src"])
    exact = SqliteLexicalIndex(components.index.catalog, max_df=1.0)
    pruned = SqliteLexicalIndex(components.index.catalog, max_df=0.5)
    assert len(exact.search("common quasquicentennial", 50)) == 21
    hits = pruned.search("common quasquicentennial", 50)
    assert [chunk_id.split("#")[0] for chunk_id, _ in hits] == ["rare"], "'common' is in every passage"
    only_common = pruned.search("common words", 50)
    assert len(only_common) == 21, "when every term is common the rarest one is still searched"
    capped = SqliteLexicalIndex(components.index.catalog, max_df=1.0, max_postings=20)
    assert [c.split("#")[0] for c, _ in capped.search("common quasquicentennial", 50)] == ["rare"], \
        "'common' (21 passages) would take the query past 20 postings"
    assert len(SqliteLexicalIndex(components.index.catalog, max_postings=22).search("common quasquicentennial",
                                                                                    50)) == 21
    assert len(capped.search("common words", 50)) == 21, "the rarest term stays even past the cap"


@pytest.mark.parametrize("filters", [Filters(kinds=("study",)), Filters(year_from=2000), Filters(kinds=("guideline",)),
                                     Filters(kinds=("study",), year_to=2019)])
def test_broad_filters_post_filter_and_give_the_filtered_query_s_hits(components: Components, write_doc: WriteDoc,
                                                                      tmp_path: Path, filters: Filters) -> None:
    """Broad filters skip Chroma's slow pre-filter (see Index.dense_search); the hits must not change."""
    for n in range(24):
        write_doc(f"s{n}.md", year=2010 + n % 12, kind="guideline" if n % 8 == 0 else "study",
                  body=f"## Results\nMicroneedling session {n} with platelet-rich plasma for acne scar grade {n % 5}.")
    assert components.ingestor().run([tmp_path / "src"]).failed == []
    index = components.index
    vector = components.embedder.embed_query("platelet-rich plasma microneedling acne scars")
    for depth in (3, 10, 40):
        expected = index.vectors.query(vector, depth, chroma_where(filters))
        got = index.dense_search(vector, depth, filters)
        assert [round(score, 5) for _, score in got] == [round(score, 5) for _, score in expected]
        floor = min((score for _, score in expected), default=0.0)  # ties at the cut may be either passage
        assert {c for c, score in got if score > floor + 1e-6} == {c for c, score in expected if score > floor + 1e-6}
        assert all(c in {e for e, _ in expected} or score <= floor + 1e-6 for c, score in got)
    share = index.filter_share(filters)
    assert (share >= 0.3) == (filters.kinds != ("guideline",))


def test_results_do_not_depend_on_how_much_of_the_fused_list_is_loaded(components: Components, write_doc: WriteDoc,
                                                                       tmp_path: Path) -> None:
    """Passages are loaded for a growing head of the fused list (2k, 8k, all): when one document fills the head,
    the hits must be those of diversifying the whole list."""
    from rag.retrieve.fusion import reciprocal_rank_fusion
    from rag.retrieve.ordering import break_ties, diversify
    from rag.retrieve.retriever import to_hit

    write_doc("long.md", body="## Results\n" + " ".join(f"Exosome finding {i} was repeated in this trial."
                                                         for i in range(200)))
    for i in range(12):
        write_doc(f"short{i:02d}.md", body=f"## Results\nOne exosome trial {i} reported a finding.")
    components.ingestor().run([tmp_path / "src"])
    settings = components.settings.retrieval
    index, query, k = components.index, "exosome finding repeated trial", 6
    fused = reciprocal_rank_fusion(
        index.vectors.query(components.embedder.embed_query(query), settings.candidates),
        index.lexical.search(query, settings.candidates), rrf_k=settings.rrf_k)
    assert sum(c.chunk_id.startswith("long#") for c in fused[: 2 * k]) > 2 * k - settings.max_chunks_per_doc, \
        "the first head must hold too few documents for k hits"
    stored = index.catalog.chunks([c.chunk_id for c in fused])
    whole = diversify(break_ties([to_hit(stored[c.chunk_id], c) for c in fused], settings.tie_tolerance,
                                 settings.tie_breakers), k, settings.max_chunks_per_doc, settings.near_duplicate)
    hits = components.retriever().search(query, k=k)
    assert [h.chunk_id for h in hits] == [h.chunk_id for h in whole] and len(hits) == k


@embedded_only
def test_one_retriever_per_process_unless_a_reranker_is_passed(components: Components) -> None:
    """The API's search route asks for the retriever on every request: its BM25 threads (and a configured
    cross-encoder's weights) must be built once, not per request."""
    shared = components.retriever()
    assert components.retriever() is shared
    own = components.retriever(KeywordReranker())
    assert own is not shared and components.retriever() is shared
    own.close()


def test_a_publications_findings_are_added_after_it_in_reading_order_up_to_a_cap(
        components: Components, write_doc: WriteDoc, tmp_path: Path) -> None:
    """A guideline summary can hold a hundred recommendation passages: all of them after its retrieved one filled
    the context budget and told every reader that passages were left out."""
    results = "".join(f"## Results {k}\nFinding number {k} of the zebrafish trial was recorded here.\n\n"
                      for k in range(1, 13))
    write_doc("s/long.md", title="A long zebrafish trial",
              body="## Methods\nZebrafish larvae were randomised to tank water or saline.\n\n" + results)
    components.ingestor().run([tmp_path / "src"])
    retriever = components.retriever()
    hits = retriever.search("How were zebrafish larvae randomised?", k=1)
    assert len(hits) == 1 and hits[0].section == "Methods"
    added = retriever.with_findings(hits)[1:]
    assert len(added) == FINDINGS_PER_DOCUMENT < 12
    assert [h.section for h in added] == [f"Results {k}" for k in range(1, FINDINGS_PER_DOCUMENT + 1)]
    assert all(h.score == 0.0 and h.doc_id == hits[0].doc_id for h in added)
