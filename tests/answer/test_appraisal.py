"""Evidence appraisal in the answer: each reference appraised, the research section's certainty, a yes/no
question's consensus and label, old guidance and retracted publications."""

from __future__ import annotations

from pathlib import Path

from rag.answer.models import Answer, Reference
from rag.factory import Components
from tests.helpers.documents import WriteDoc

YES_NO = "Does PRP with microneedling improve acne scars?"


def reference(answer: Answer, doc_id: str) -> object:
    return next(r for r in answer.references if r.doc_id == doc_id)


def appraised(components: Components, tmp_path: Path, question: str, doc_id: str) -> tuple[Answer, Reference]:
    """The answer to ``question`` over the documents written under ``tmp_path``, and its appraised reference to
    ``doc_id``."""
    assert components.ingestor().run([tmp_path / "src"]).failed == []
    answer = components.answers().answer(question)
    found = next((r for r in answer.references if r.doc_id == doc_id), None)
    assert found is not None and found.appraisal is not None, answer.references
    return answer, found


def test_references_and_sections_are_appraised(answer_corpus: Components) -> None:
    answer = answer_corpus.answers().answer(YES_NO)
    prp = reference(answer, "prp")
    appraisal = prp.appraisal  # type: ignore[attr-defined]
    assert appraisal.design == "rct" and appraisal.design_source == "metadata" and appraisal.level == 2
    assert appraisal.sample_size == 50 and "50 patients" in appraisal.sample_size_quote
    assert appraisal.year == 2016 and appraisal.age_years is not None and appraisal.age_years >= 9
    assert appraisal.direction == "supports" and appraisal.direction_words
    research = answer.sections[1]
    assert research.certainty is not None and research.certainty.reason.startswith(research.certainty.level.capitalize())
    assert research.consensus is not None and answer.label == research.consensus.label
    assert research.certainty.reason not in answer.limitations, "shown under the section heading instead"


def test_an_open_question_has_no_label_or_disagreements(answer_corpus: Components) -> None:
    answer = answer_corpus.answers().answer("What is known about PRP with microneedling for acne scars?")
    assert answer.label is None and answer.disagreements == []
    assert all(s.consensus is None for s in answer.sections)
    assert answer.references and all(r.appraisal is not None and r.appraisal.direction == "unclear"
                                     for r in answer.references), "'supports' means nothing for an open question"


def test_old_guidance_is_flagged_and_retracted_work_is_left_out(answer_corpus: Components, write_doc: WriteDoc,
                                                               tmp_path: Path) -> None:
    write_doc("s/retracted.md", year=2019, title="Retracted PRP microneedling acne scar trial", retracted="true",
              body="## Results\nIn 40 patients, PRP with microneedling improved acne scars by 80%.")
    assert answer_corpus.ingestor().run([tmp_path / "src"]).failed == []
    answer = answer_corpus.answers().answer("Is any exosome product approved by the FDA, and does PRP with "
                                            "microneedling improve acne scars?")
    assert all(r.doc_id != "retracted" for r in answer.references)
    assert any("retracted publication" in n and "Retracted PRP microneedling" in n for n in answer.notices)
    fda = reference(answer, "fda")
    assert "outdated" in fda.appraisal.flags  # type: ignore[attr-defined]
    assert f"Reference [{fda.n}] was issued in 2019" in answer.limitations  # type: ignore[attr-defined]


def test_a_guideline_is_superseded_by_a_newer_one_of_the_same_body_and_topic(answer_corpus: Components,
                                                                             write_doc: WriteDoc,
                                                                             tmp_path: Path) -> None:
    write_doc("g/old.md", kind="guideline", organization="Task Force", year=2009,
              title="\"Screening for depression in adults, recommendation statement\"",
              body="## Recommendation\nThe Task Force recommends screening adults for depression when staff-assisted "
                   "depression care supports are in place.")
    write_doc("g/new.md", kind="guideline", organization="Task Force", year=2016,
              title="\"Screening for depression in adults, updated recommendation statement\"",
              body="## Recommendation\nThe Task Force recommends screening for depression in the general adult "
                   "population, including pregnant and postpartum women.")
    answer, old = appraised(answer_corpus, tmp_path, "Should adults be screened for depression when staff-assisted "
                                                     "depression care supports are in place?", "old")
    assert old.appraisal is not None and "superseded" in old.appraisal.flags and "(2016)" in old.appraisal.flag_reasons["superseded"]
    assert f"Reference [{old.n}]: A newer statement" in answer.limitations
    new = next((r for r in answer.references if r.doc_id == "new"), None)
    assert new is None or "superseded" not in (new.appraisal.flags if new.appraisal else ())


def test_a_newer_statement_on_another_topic_of_the_same_body_supersedes_nothing(answer_corpus: Components,
                                                                               write_doc: WriteDoc,
                                                                               tmp_path: Path) -> None:
    write_doc("g/screen.md", kind="guideline", organization="Task Force", year=2016,
              title="\"Final recommendation statement, skin cancer, screening\"",
              body="## Recommendation\nThe evidence is insufficient to assess skin cancer screening by clinicians.")
    write_doc("g/counsel.md", kind="guideline", organization="Task Force", year=2018,
              title="\"Final recommendation statement, skin cancer prevention, behavioral counseling\"",
              body="## Recommendation\nClinicians should counsel fair-skinned young adults about skin cancer "
                   "prevention.")
    _, screen = appraised(answer_corpus, tmp_path, "Is skin cancer screening by clinicians recommended?", "screen")
    assert screen.appraisal is not None and "superseded" not in screen.appraisal.flags


def test_a_statement_on_another_lettered_virus_supersedes_nothing(answer_corpus: Components, write_doc: WriteDoc,
                                                                  tmp_path: Path) -> None:
    """Held out: the hepatitis C screening statement (2013) was flagged superseded by the hepatitis B one (2014):
    the titles differ only by the letter, which content words leave out."""
    write_doc("g/hcv.md", kind="guideline", organization="Task Force", year=2013,
              title="\"Screening for hepatitis C virus infection in adults\"",
              body="## Recommendation\nThe task force recommends screening for hepatitis C virus infection in adults "
                   "at high risk.")
    write_doc("g/hbv.md", kind="guideline", organization="Task Force", year=2014,
              title="\"Screening for hepatitis B virus infection in nonpregnant adolescents and adults\"",
              body="## Recommendation\nThe task force recommends screening for hepatitis B virus infection in persons "
                   "at high risk.")
    _, hcv = appraised(answer_corpus, tmp_path, "Should adults at high risk be screened for hepatitis C virus "
                                                "infection?", "hcv")
    assert hcv.appraisal is not None and "superseded" not in hcv.appraisal.flags, hcv.appraisal.flag_reasons


def test_a_finding_has_a_direction_only_when_its_publication_clearly_addresses_the_question(
        answer_corpus: Components) -> None:
    settings = answer_corpus.settings
    answer_corpus.settings = settings.model_copy(update={"meaning": settings.meaning.model_copy(
        update={"clearly": 0.99})})  # nothing clearly addresses it: words alone do not set a direction
    answer = answer_corpus.answers().answer(YES_NO)
    prp = reference(answer, "prp")
    assert prp.appraisal.direction == "unclear" and prp.appraisal.direction_quote is None  # type: ignore[attr-defined]


def test_in_a_follow_up_a_publication_cited_before_that_addresses_the_ask_is_direct(
        answer_corpus: Components) -> None:
    """A short follow-up ("And the scar scores?") scores lower by meaning than a whole question; the publication the
    earlier turn cited, addressing the new ask, is not downgraded for indirectness."""
    settings = answer_corpus.settings
    answer_corpus.settings = settings.model_copy(update={"meaning": settings.meaning.model_copy(
        update={"clearly": 0.99})})  # no score is clear: only the follow-up rule can make a publication direct
    service = answer_corpus.answers()
    first = service.answer(YES_NO)
    assert "clearly addresses" in first.sections[1].certainty.reason  # type: ignore[union-attr]
    follow = service.answer("And did the scar scores improve with PRP?", conversation_id=first.conversation_id)
    assert follow.standalone_question is not None and reference(follow, "prp")
    certainty = follow.sections[1].certainty
    assert certainty is not None and "clearly addresses" not in certainty.reason, certainty.reason


def test_a_patient_outside_the_recommendations_population_is_told_so(answer_corpus: Components, write_doc: WriteDoc,
                                                                     tmp_path: Path) -> None:
    write_doc("g/lung.md", kind="guideline", organization="Task Force", year=2021,
              title="\"Lung cancer: screening with low-dose computed tomography\"",
              body="## Recommendation\nThe Task Force recommends annual screening for lung cancer with low-dose "
                   "computed tomography in adults aged 50 to 80 years who have a 20 pack-year smoking history and "
                   "currently smoke or have quit within the past 15 years.")
    assert answer_corpus.ingestor().run([tmp_path / "src"]).failed == []
    service = answer_corpus.answers()
    eligible = service.answer("Should I order low-dose computed tomography to screen a 66-year-old for lung "
                              "cancer? She has a 40 pack-year history and quit 3 years ago.")
    lung = reference(eligible, "lung")
    assert lung.appraisal.direction == "supports" and not lung.appraisal.flags  # type: ignore[attr-defined]
    answer = service.answer("Should I order low-dose computed tomography to screen a 66-year-old for lung cancer? "
                            "She has a 40 pack-year history and quit 20 years ago.")
    lung = reference(answer, "lung")
    assert lung.appraisal.direction == "unclear"  # type: ignore[attr-defined]
    assert f'Reference [{lung.n}] may not apply to this patient. Its quoted advice is for "quit within the past ' \
           f'15 years" while the question\'s patient is "quit 20 years ago".' in answer.limitations  # type: ignore
    guidelines = answer.sections[0]
    assert guidelines.consensus is not None and "the question's patient is outside" in guidelines.consensus.summary
