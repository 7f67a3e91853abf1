"""Relevance by meaning with the packaged encoder: synonyms the corpus does not use still address the question,
and a passage sharing only words with it does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.config import MeaningSettings
from rag.contract import Source
from rag.embedding import SentenceTransformerEmbedder
from rag.meaning.relevance import FollowUp, Publication, Relevance
from rag.meaning.vectors import SentenceVectors
from rag.models import Hit
from rag.testing.fakes import HashEmbedder

pytestmark = pytest.mark.slow


@pytest.fixture
def encoder(packaged_encoder: SentenceTransformerEmbedder) -> SentenceTransformerEmbedder:
    return packaged_encoder


def relevance(encoder: object, tmp_path: Path, **settings: float) -> Relevance:
    return Relevance(SentenceVectors(encoder, tmp_path / "v.sqlite3"), encoder.embed_query,  # type: ignore[attr-defined,arg-type]
                     MeaningSettings(**settings))


def judged(judge: Relevance, question: str, passages: list[str]) -> list[Publication]:
    """Each one-sentence passage judged as a publication, its stored vector being its own (as ingest stores it)."""
    found = judge.judge(question, [(str(i), text, judge.question_vector(text)) for i, text in enumerate(passages)])
    return [found.publications[str(i)] for i in range(len(passages))]


def test_a_synonym_addresses_the_question_and_shared_words_do_not(encoder: SentenceTransformerEmbedder,
                                                                  tmp_path: Path) -> None:
    judge = relevance(encoder, tmp_path)
    physician, nurse_words = judged(judge, "Do blood pressure readings taken by a doctor run higher than a nurse's?", [
        "Readings taken by physicians were higher than those taken by nurses in treated hypertensive patients.",
        "Blood donors were asked by a nurse whether they had taken any readings of the weather.",
    ])
    assert physician.score > nurse_words.score + 0.1
    assert physician.score >= judge.settings.clearly, "meaning alone decides: no word list can veto it"
    sugar, = judged(judge, "Should adults with overweight be checked for high blood sugar?",
                    ["The USPSTF recommends screening for abnormal blood glucose in adults aged 40 to 70 with "
                     "overweight."])
    assert sugar.addresses


def test_an_unrelated_question_is_not_addressed(encoder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    judge = relevance(encoder, tmp_path)
    publications = judged(judge, "Which vaccine schedule is recommended for infant rotavirus immunisation?", [
        "Microneedling plus PRP improved atrophic acne scars more than microneedling alone.",
        "The USPSTF recommends screening adults for depression when support systems are in place.",
    ])
    assert not any(p.addresses for p in publications)


def test_a_sentence_is_scored_with_its_passage(tmp_path: Path) -> None:
    encoder = HashEmbedder()
    judge = relevance(encoder, tmp_path, sentence_weight=0.5)
    question = judge.question_vector("acne scars microneedling")
    passage = np.asarray(encoder.embed_query("acne scars microneedling trial"), dtype=np.float32)
    scored, = judge.passages(question, [("The treated side improved more than the other side.", passage)])
    sentence, = scored.sentences
    assert scored.cosine == pytest.approx(float(passage @ question))
    assert sentence.score == pytest.approx(0.5 * sentence.cosine + 0.5 * scored.cosine, abs=1e-6)
    assert scored.best == sentence.score
    assert judge.passages(question, [("Too short.", passage)])[0].sentences == ()


def test_a_review_sharing_the_condition_does_not_address_a_question_on_two_drugs(
        encoder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    """The case grounding rests on: an acupuncture review does not answer "Are SSRIs safer than tricyclics?"."""
    judge = relevance(encoder, tmp_path)
    judged = judge.judge("Are SSRIs safer than tricyclic antidepressants for depression in older adults?", [
        ("ssri-trial", "In older adults with depression, SSRIs caused fewer falls than tricyclic antidepressants.",
         None),
        ("acupuncture-review", "Acupuncture reduced depression scores in adults, but the trials were small and at "
         "high risk of bias.", None),
    ])
    assert judged.addressing() == {"ssri-trial"}
    assert judged.publications["ssri-trial"].score > judged.publications["acupuncture-review"].score


def test_between_the_thresholds_topic_words_are_matched_by_meaning_not_letters(
        encoder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    """Below ``clearly`` a publication must hold the question's distinctive words: 'blood sugar' is held by a
    passage on glucose, 'glucagon' is not held by one on insulin, 'needling' is held by 'microneedling'."""
    rare = {"sugar": 3.0, "glucagon": 3.0, "nasal": 3.0, "needling": 3.0}

    def weights(terms: object) -> dict[str, float]:
        return {t: rare.get(t, 0.5) for t in terms}  # type: ignore[attr-defined]

    judge = Relevance(SentenceVectors(encoder, tmp_path / "v.sqlite3"), encoder.embed_query,
                      MeaningSettings(addresses=-1.0, clearly=1.0), weights)

    def addresses(question: str, passage: str) -> bool:
        return judge.judge(question, [("d", passage, None)]).publications["d"].addresses

    assert addresses("Should adults be screened for high blood sugar?",
                     "Screening adults for abnormal glucose levels is recommended.")
    assert not addresses("Does nasal glucagon treat hypoglycaemia?",
                         "Severe hypoglycaemia was more common with insulin glargine.")
    assert addresses("Does needling help acne scars?", "Microneedling improved atrophic lesions in scars.")


def test_a_limitation_that_states_a_finding_is_told_from_a_limitation_of_the_evidence(
        encoder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    judge = relevance(encoder, tmp_path)
    assert judge.findings("Have regulators approved exosome products for cosmetic use?", [
        "There are no FDA-approved exosome products.",
        "The trials were small and not blinded.",
        "Evidence comes mostly from case series and industry-funded studies.",
    ]) == [True, False, False]
    assert judge.findings("What is the comparative efficacy of PRP micro-needling versus exosome micro-needling?", [
        "The exosome side and the PRP side improved equally in wrinkles.",
        "The trial had 25 participants and a short follow-up.",
        "Outcome measures differed across studies.",
    ]) == [True, False, False]


def test_an_identifier_the_encoder_cannot_read_is_matched_exactly(encoder: SentenceTransformerEmbedder,
                                                                  tmp_path: Path) -> None:
    judge = relevance(encoder, tmp_path)
    question = "What did MISEV2023 add compared with the 2018 version?"
    named, other_version, unrelated = judged(judge, question, [
        "MISEV2023 adds a section on studying EVs in vivo.",
        "MISEV2018 adds a section on studying EVs in vivo.",
        "Falls were fewer in adults taking SSRIs than tricyclic antidepressants.",
    ])
    assert named.score < judge.settings.addresses, "the encoder alone would abstain"
    assert named.addresses and not other_version.addresses and not unrelated.addresses


def source(n: int, doc_id: str, title: str, text: str) -> Source:
    hit = Hit(doc_id=doc_id, chunk_id=f"{doc_id}:0", kind="study", title=title, score=1.0, text=text,
              section="Results", span=(0, len(text)))
    return Source(n=n, hit=hit, text=text)


def test_a_follow_up_is_answered_by_the_publication_cited_before(encoder: SentenceTransformerEmbedder,
                                                                 tmp_path: Path) -> None:
    """"How many patients did the review collect?" about granulomas asked as "red bumps": the condensed question's
    words miss the review, but the review was cited the turn before, and the ask put to it by name finds it."""
    judge = relevance(encoder, tmp_path)
    review = source(1, "review", "Granulomas after microneedling: a systematic review",
                    "The authors systematically reviewed published cases of granulomas after microneedling and "
                    "found 15 patients.")
    trial = source(2, "trial", "Microneedling with PRP for acne scars: a randomised trial",
                   "Acne scars improved more with PRP added to microneedling than with microneedling alone.")
    question = ('How many patients did the systematic review collect? (following the question "A patient got firm red '
                'bumps on her cheeks a few weeks after a needling facial with a serum.")')
    alone = judge.judge_sources(question, [review, trial])
    assert not alone.publications["review"].addresses
    follow_up = FollowUp("How many patients did the systematic review collect?", frozenset({"review"}))
    judged = judge.judge_sources(question, [review, trial], follow_up)
    assert judged.publications["review"].addresses
    assert judged.publications["review"].score == alone.publications["review"].score, "it does not outrank others"
    rescued = judged.publications["review"]
    assert rescued.on_ask is not None and rescued.best == rescued.on_ask > rescued.score + 0.2, \
        "the evidence line judges it on the ask it answers, not on the condensed question"
    assert judged.publications["trial"].on_ask is None
    assert judged.publications["trial"] == alone.publications["trial"], "only what was cited before is re-judged"
    elsewhere = FollowUp("How many patients did the systematic review collect?", frozenset({"trial"}))
    assert not judge.judge_sources(question, [review, trial], elsewhere).publications["review"].addresses


def test_a_publication_naming_none_of_the_questions_specialist_terms_does_not_address_it(
        encoder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    """The encoder reads "latanoprost" and "timolol" as word pieces: a glaucoma screening statement scores as if it
    answered which drop to start (0.56 over the second corpus); it names neither drug nor their class."""
    judge = relevance(encoder, tmp_path)
    question = ("Newly diagnosed open-angle glaucoma - is a prostaglandin analog like latanoprost or timolol the "
                "better first-line drop?")
    screening, drops = judged(judge, question, [
        "The USPSTF concludes that the evidence is insufficient to assess the balance of benefits and harms of "
        "screening for primary open-angle glaucoma in adults.",
        "In newly diagnosed open-angle glaucoma, latanoprost lowered intraocular pressure more than timolol.",
    ])
    assert not screening.addresses
    assert drops.addresses
    assert screening.score >= judge.settings.addresses, "the encoder alone would have quoted it"


def test_a_specialist_term_is_named_by_its_clipped_form_spelling_or_synonym(
        encoder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    judge = relevance(encoder, tmp_path)
    hepatitis, = judged(judge, "A nurse only got 2 of her hep B shots years ago. Do we restart the series?", [
        "Health care personnel with an incomplete hepatitis B vaccine series should complete it without restarting."])
    assert hepatitis.addresses
    postnatal, = judged(judge, "Did antenatal exercise classes lower the risk of postpartum depression?", [
        "Women in the exercise group had a lower risk of postnatal depression three months after birth."])
    assert postnatal.addresses
    american, = judged(judge, "How common is severe hypoglycaemia on basal insulin?", [
        "Severe hypoglycemia occurred in 1.00 per 100 person-years on basal insulin glargine."])
    assert american.addresses


def test_a_term_named_by_another_publication_does_not_set_aside_one_that_uses_a_synonym(
        encoder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    """Only a term no passage names says the sources hold something else: an abstract saying "diabetes" answers a
    question on "diabetes mellitus" even when another retrieved abstract writes "mellitus"."""
    judge = relevance(encoder, tmp_path)
    question = "Can gastric bypass surgery provide a lasting remission of diabetes mellitus?"
    plain, named = judged(judge, question, [
        "After gastric bypass surgery, diabetes remitted in most patients and stayed in remission for five years.",
        "Type 2 diabetes mellitus is common in adults with obesity.",
    ])
    assert plain.addresses and not named.addresses


def test_a_misspelt_specialist_term_is_named_by_its_spelling(encoder: SentenceTransformerEmbedder,
                                                            tmp_path: Path) -> None:
    """The encoder puts "hypertention" 0.28 from "hypertension": a typo must not set the answering source aside."""
    judge = relevance(encoder, tmp_path)
    home, = judged(judge, "How accurate is home monitoring for diagnosing hypertention?", [
        "Home blood pressure monitoring diagnosed hypertension with a sensitivity of 81% against ambulatory "
        "monitoring."])
    assert home.addresses


def test_a_term_is_not_named_by_a_word_sharing_only_its_start_and_context_does_not_stand_in_for_it(
        encoder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    """Asked about hypoglossal nerve stimulation, the sleep apnea screening statement was quoted: "hypopnea" is 0.77
    from "hypoglossal" as a vector (the shared piece "hypo"), and the question's acronyms (OSA, CPAP) are named by
    it, though they only set the scene in a sentence of their own."""
    judge = relevance(encoder, tmp_path)
    question = ("My patient with moderate OSA can't tolerate CPAP. What are the candidacy criteria for hypoglossal "
                "nerve stimulation?")
    screening, = judged(judge, question, [
        "In adults with OSA, CPAP lowered the apnea-hypopnea index to normal levels, and some patients stopped "
        "using CPAP because of nasal dryness."])
    assert screening.score >= judge.settings.addresses, "the encoder alone would have quoted it"
    assert not screening.addresses
    stimulation, = judged(judge, question, [
        "Hypoglossal nerve stimulation was offered to adults with moderate OSA who could not tolerate CPAP."])
    assert stimulation.addresses


def test_a_term_written_before_an_unnamed_one_does_not_stand_in_for_it(encoder: SentenceTransformerEmbedder,
                                                                       tmp_path: Path) -> None:
    """"Lactational" says which mastitis is asked about: breastfeeding guidance naming "lactation" is not about it."""
    judge = relevance(encoder, tmp_path)
    question = "Breastfeeding mom with lactational mastitis - which antibiotic do you choose?"
    support, = judged(judge, question, [
        "Interventions during pregnancy and after birth support breastfeeding through lactation, and breastfeeding "
        "mothers chose them."])
    assert not support.addresses
    mastitis, = judged(judge, question, ["In lactational mastitis, dicloxacillin was the antibiotic chosen most."])
    assert mastitis.addresses


def test_an_unnamed_term_of_the_asked_sentence_is_not_stood_in_for_by_the_cases_terms(
        encoder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    """A second-corpus dev case: "... central apneas w/ Cheyne-Stokes, not OSA. Is adaptive servo-ventilation ok for
    him or contraindicated?" was answered with the sleep apnea screening statement, which names "apnea" from the
    case told, not what is asked. (Thresholds lowered so that only the rule on specialist terms decides.)"""
    judge = relevance(encoder, tmp_path, addresses=0.2, clearly=0.2)
    question = ("Pt with heart failure - PSG shows mostly central apneas with Cheyne-Stokes, not OSA. Is adaptive "
                "servo-ventilation ok for him or contraindicated?")
    screening, = judged(judge, question, [
        "The evidence is insufficient to assess screening for obstructive sleep apnea in asymptomatic adults; CPAP "
        "reduced the apnea-hypopnea index in trials."])
    assert not screening.addresses
    asked, = judged(judge, question, ["Adaptive servo-ventilation raised mortality in heart failure with central "
                                      "sleep apnea."])
    assert asked.addresses


def test_a_passage_without_its_stored_vector_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A passage whose stored vector is not found is scored on its sentences alone, which can move a publication
    below the floor: an answer that differs between two runs of the same code should leave a trace."""
    encoder = HashEmbedder()
    judge = Relevance(SentenceVectors(encoder, tmp_path / "v.sqlite3"), encoder.embed_query, MeaningSettings(),
                      passage_vectors=lambda ids: {ids[0]: encoder.embed_query("x")})
    first = source(1, "a", "A trial", "Acne scars improved more with PRP added to microneedling.")
    second = source(2, "b", "Another trial", "Redness lasted two days after microneedling.")
    with caplog.at_level("WARNING", logger="rag.meaning.relevance"):
        judge.judge_sources("Does PRP help acne scars?", [first, second])
    assert "no stored vector for 1 of 2 passages (first: b:0)" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="rag.meaning.relevance"):
        judge.judge_sources("Does PRP help acne scars?", [first])
    assert "no stored vector" not in caplog.text
