"""The extractive composer quotes what addresses the question, with what each quote needs to be read right."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from rag.answer.models import Answer
from rag.config import Settings
from rag.contract import NOT_AS_CLOSE_STATEMENTS
from rag.embedding import SentenceTransformerEmbedder
from rag.factory import Components
from rag.generate.extractive import (
    _wording_bonus,
    asks_for_decision,
    asks_for_dose,
    asks_for_size,
    asks_for_strength,
)
from rag.testing.fakes import HashEmbedder, LexicalJudge
from tests.helpers.documents import WriteDoc


@pytest.fixture
def one_sentence(settings: Settings, embedder: HashEmbedder) -> Iterator[Components]:
    """Components whose research section quotes one sentence: what comes with it is what the rule adds."""
    generation = settings.generation.model_copy(update={"research_sentences": 1})
    built = Components(settings.model_copy(update={"generation": generation}), embedder=embedder,
                       judge=LexicalJudge())
    yield built
    built.close()


def research(components: Components, question: str) -> str:
    answer = components.answers().answer(question)
    return next(s.text for s in answer.sections if s.kind == "research")


def ingested_answer(components: Components, tmp_path: Path, question: str) -> Answer:
    """The answer to ``question`` once the documents written under ``tmp_path`` are ingested."""
    components.ingestor().run([tmp_path / "src"])
    return components.answers().answer(question)


def research_of_one_study(components: Components, write_doc: WriteDoc, tmp_path: Path, title: str, body: str,
                          question: str) -> str:
    """The research section answering ``question`` from an index holding one study."""
    write_doc("s/study.md", title=title, body=body)
    components.ingestor().run([tmp_path / "src"])
    return research(components, question)


def test_a_result_is_quoted_with_its_significance(one_sentence: Components, write_doc: WriteDoc,
                                                  tmp_path: Path) -> None:
    text = research_of_one_study(
        one_sentence, write_doc, tmp_path, "Microneedling with platelet-rich plasma for acne scars",
        "## Results\nMicroneedling with platelet-rich plasma improved acne scar scores by 62% against 45% with "
        "microneedling alone. The difference was not statistically significant (p = 0.21). Patients were followed "
        "for six months after the last session.",
        "Does platelet-rich plasma with microneedling improve acne scar scores?")
    assert "improved acne scar scores by 62% against 45% with microneedling alone [1]. The difference was not " \
           "statistically significant (p = 0.21) [1]." in text


def test_a_sentence_leaning_on_its_neighbour_is_quoted_with_it(one_sentence: Components, write_doc: WriteDoc,
                                                               tmp_path: Path) -> None:
    text = research_of_one_study(
        one_sentence, write_doc, tmp_path, "Antidepressants and falls in older people",
        "## Results\nOlder people taking antidepressants were followed for falls and fractures. In this group, falls "
        "were most frequent with selective serotonin reuptake inhibitors.",
        "In older people, are falls most frequent with selective serotonin reuptake inhibitors?")
    lean = "In this group, falls were most frequent with selective serotonin reuptake inhibitors [1]."
    assert lean in text
    assert text.index("Older people taking antidepressants were followed") < text.index(lean)


def first_guideline_sentences(settings: Settings, embedder: HashEmbedder, tmp_path: Path, question: str) -> str:
    """The guideline section, quoting one sentence (with what it needs), answering ``question`` over the documents
    written under ``tmp_path``."""
    generation = settings.generation.model_copy(update={"guideline_sentences": 1})
    built = Components(settings.model_copy(update={"generation": generation}), embedder=embedder,
                       judge=LexicalJudge())
    try:
        built.ingestor().run([tmp_path / "src"])
        return built.answers().answer(question).sections[0].text
    finally:
        built.close()


def test_a_sentence_going_on_with_the_list_comes_with_it(settings: Settings, embedder: HashEmbedder,
                                                          write_doc: WriteDoc, tmp_path: Path) -> None:
    """The tenth reading: three of seven harms quoted, "The USPSTF also found adequate evidence of other moderate
    harms, such as ..." left out though it is the next sentence."""
    write_doc("g/hrt.md", kind="guideline", title="Hormone therapy for the prevention of chronic conditions",
              body="## Harms\nThe task force found that combined hormone therapy increases the risk of breast cancer "
                   "and venous thromboembolism. The task force also found adequate evidence of other moderate harms, "
                   "such as stroke, dementia and gallbladder disease. Benefits include fewer fractures.")
    text = first_guideline_sentences(settings, embedder, tmp_path,
                                     "What harms of combined hormone therapy did the task force find?")
    assert "The task force also found adequate evidence of other moderate harms" in text, text
    write_doc("g/hiv.md", kind="guideline", title="Screening for HIV infection",
              body="## Recommendations\nThe task force recommends screening for HIV infection in adolescents and "
                   "adults aged 15 to 65 years. Younger adolescents and older adults who are at increased risk should "
                   "also be screened. (A recommendation) Rescreening intervals are uncertain.")
    text = first_guideline_sentences(settings, embedder, tmp_path,
                                     "Which ages does the task force want screened for HIV infection?")
    assert "older adults who are at increased risk should also be screened" in text, "the population it goes on with"
    # the eleventh reading: "Several screening instruments can be used ..." quoted without the next sentence naming them
    write_doc("g/ipv.md", kind="guideline", title="Screening for intimate partner violence",
              body="## Clinical considerations\nSeveral screening instruments can be used to screen women for "
                   "intimate partner violence. Those with the highest sensitivity are HITS, STaT and HARK. Referral "
                   "services vary by region.")
    text = first_guideline_sentences(settings, embedder, tmp_path,
                                     "Which screening instruments can be used to screen women for intimate partner "
                                     "violence?")
    assert "Those with the highest sensitivity are HITS, STaT and HARK" in text, "the members of the set it names"


def test_a_sentence_about_this_recommendation_comes_after_the_recommendation_it_refers_to(
        settings: Settings, embedder: HashEmbedder, write_doc: WriteDoc, tmp_path: Path) -> None:
    """Quoted alone beside the adolescents' I statement, "this recommendation" reads as about that one."""
    write_doc("g/alcohol.md", kind="guideline", title="Screening for alcohol misuse, recommendation statement",
              body="## Recommendations\nThe task force recommends screening adults aged 18 years or older "
                   "for alcohol misuse. (B recommendation) Adolescents were not studied enough to assess. "
                   "Although pregnant women are included, this recommendation is related to decreasing risky "
                   "drinking in pregnant women, not to abstinence.")
    text = first_guideline_sentences(settings, embedder, tmp_path,
                                     "Does the alcohol counselling for risky drinking cover pregnant women?")
    assert text.startswith("The task force recommends screening adults aged 18 years or older for alcohol misuse. "
                           "(B recommendation) [1]. Although pregnant women are included, this recommendation"), text
    assert "Adolescents" not in text


def test_a_section_well_below_the_other_says_so_instead_of_quoting(settings: Settings, embedder: HashEmbedder,
                                                                    write_doc: WriteDoc, tmp_path: Path) -> None:
    """A guideline on the topic but far from the ask is not quoted in front of the study that answers it, unless the
    question asks what a guideline or regulator says, or the floor is turned off."""
    def answers(floor: float, *questions: str) -> list[str]:
        meaning = settings.meaning.model_copy(update={"section_floor": floor})
        built = Components(settings.model_copy(update={"meaning": meaning}), embedder=embedder, judge=LexicalJudge())
        try:
            return [built.answers().answer(q).sections[0].text for q in questions]
        finally:
            built.close()

    write_doc("s/trial.md", title="Exosome gel after fractional laser, split-face trial",
              body="## Results\nExosome gel after fractional laser shortened redness by two days against the control "
                   "gel in a split-face trial.")
    write_doc("g/fda.md", kind="guideline", title="FDA notice on exosome products",
              body="## Notice\nThe FDA reported serious adverse events with unapproved exosome gel products used "
                   "after fractional laser.")
    ingesting = Components(settings, embedder=embedder, judge=LexicalJudge())
    try:
        ingesting.ingestor().run([tmp_path / "src"])
    finally:
        ingesting.close()
    asked = "Does exosome gel after fractional laser shorten redness in a split-face trial?"
    named = "Does the FDA say anything about exosome gel after fractional laser for redness?"
    floored, by_name = answers(0.05, asked, named)
    assert floored == NOT_AS_CLOSE_STATEMENTS["guidelines"]
    assert by_name.startswith("The FDA reported serious adverse events"), "asked what the FDA says"
    assert answers(1.0, asked)[0].startswith("The FDA reported serious adverse events"), "the floor turned off"


def test_a_question_nothing_addresses_gets_no_quote(components: Components, write_doc: WriteDoc,
                                                    tmp_path: Path) -> None:
    write_doc("s/trial.md", title="Microneedling with platelet-rich plasma for acne scars",
              body="## Results\nMicroneedling with platelet-rich plasma improved acne scar scores by 62%.")
    answer = ingested_answer(components, tmp_path,
                             "Which vaccine schedule is recommended for infant rotavirus immunisation?")
    assert [s.evidence_found for s in answer.sections] == [False, False] and answer.references == []


def test_the_source_that_speaks_to_a_false_premise_leads_and_says_it_is_false(components: Components, write_doc: WriteDoc,
                                                         tmp_path: Path) -> None:
    write_doc("g/fda.md", kind="guideline", title="FDA consumer alert on exosome products", year=2019,
              body="## Alert\nClinics advertise exosome facials with storage in a freezer at minus 20 degrees. "
                   "No exosome product is approved by the FDA for any use.")
    answer = ingested_answer(components, tmp_path,
                             "Since the FDA approved exosome products, should clinics store exosome "
                             "products in a freezer?")
    assert answer.sections[0].text.startswith("No exosome product is approved by the FDA for any use [1].")
    assert answer.notices == ['The question takes for granted that "the FDA approved exosome products", but the '
                              'sources state otherwise: [1] (2019): "No exosome product is approved by the FDA for any '
                              'use."'], "with the year of the statement, to be seen against a premise about 'now'"
    true = components.answers().answer("Since no exosome product is approved by the FDA, should clinics store exosome "
                                       "products in a freezer?")
    assert true.notices == ['The question takes for granted that "no exosome product is approved by the FDA"; the '
                            'cited guideline states the same position: [1] (2019): "No exosome product is approved by '
                            'the FDA for any use." Check that it covers the same patients.']
    plain = components.answers().answer("Should clinics store exosome products in a freezer?")
    assert not plain.notices, "a question that assumes nothing gets no such notice"


def test_a_guideline_correcting_the_premise_leads_over_one_closer_to_its_words(
        components: Components, write_doc: WriteDoc, tmp_path: Path) -> None:
    """Found by the eighth reading: "Since the FDA has approved exosome serums for use after microneedling, what dose
    ...?" was led by a Korean advertising rule naming exosomes and microneedles, closer to the premise's words, while
    the FDA notice stating that no exosome product is approved came after it."""
    write_doc("g/ads.md", kind="guideline", title="Cosmetic advertising rule on exosome serums and microneedles",
              body="## Rule\nThe advertising rule bans calling exosome serums fit for use after microneedling with "
                   "microneedles.")
    write_doc("g/fda.md", kind="guideline", title="FDA notice on exosome products",
              body="## Notice\nNo exosome product is approved by the FDA for use on skin.")
    components.ingestor().run([tmp_path / "src"])
    question = "Since the FDA has approved exosome serums for use after microneedling, what dose should I apply?"
    answer = components.answers().answer(question)
    assert answer.sections[0].text.startswith("No exosome product is approved by the FDA for use on skin ["), \
        answer.sections[0].text
    write_doc("g/fda.md", kind="guideline", title="FDA notice on exosome products",
              body="## Notice\nNo exosome serum is approved by the FDA.")  # now much further from the premise
    farther = ingested_answer(components, tmp_path, question)
    assert farther.sections[0].text.startswith("The advertising rule"), "a correction far below the closest waits"


def test_the_opposite_position_leads_a_correction_over_a_weaker_one(components: Components, write_doc: WriteDoc,
                                                                    tmp_path: Path) -> None:
    """'Since the USPSTF gives carotid ultrasound screening ... a B grade, ...?' was led by the statement's aside that
    an older review found insufficient evidence for another test, a shade closer to the premise, instead of its D
    recommendation against screening."""
    write_doc("g/carotid.md", kind="guideline", title="Screening for carotid artery stenosis",
              body="## Recommendation\nThe task force recommends against screening for carotid artery stenosis. (D "
                   "recommendation) An older task force review found insufficient evidence on carotid ultrasound "
                   "screening of the general adult population to grade it for heart risk.")
    answer = ingested_answer(components, tmp_path,
                             "Since the task force gives carotid ultrasound screening of the general "
                             "adult population a B grade, at what age should I start it?")
    assert answer.sections[0].text.startswith("The task force recommends against screening"), answer.sections[0].text


def test_a_premise_the_guideline_also_holds_is_not_called_false(components: Components, write_doc: WriteDoc,
                                                                 tmp_path: Path) -> None:
    """A C grade for older adults contradicts "recommends counselling", but the B grade for the young states it: the
    sources do not say otherwise, whatever the composer leads with."""
    write_doc("g/sun.md", kind="guideline", title="Counselling about sun protection, recommendation statement",
              body="## Recommendations\nThe task force recommends counselling children and young adults with fair "
                   "skin about sun protection. (B recommendation) For adults older than 24 years with fair skin, "
                   "clinicians should offer sun protection counselling selectively. (C recommendation)")
    answer = ingested_answer(components, tmp_path,
                             "Since the task force recommends counselling young adults with fair skin "
                             "about sun protection, from what age should we start?")
    notice, = answer.notices
    assert "takes for granted" in notice and "state otherwise" not in notice
    assert "same position" not in notice, "a guideline holding the claim for some patients only does not confirm it"
    false = components.answers().answer("Since the task force recommends against counselling young adults with fair "
                                        "skin about sun protection, what should we do instead?")
    assert "but the sources state otherwise: [1]" in false.notices[0]


def test_a_correction_for_the_very_patients_the_premise_names_stands(components: Components, write_doc: WriteDoc,
                                                                     tmp_path: Path) -> None:
    """Advice endorsing the claim's thing for other patients does not cancel a guideline's statement against it for
    the patients the claim names: "long-term opioid therapy is fine for patients under 30" had been left standing."""
    write_doc("g/opioids.md", kind="guideline", title="Opioid therapy for chronic pain",
              body="## Recommendations\nThe Work Group recommends evaluating the benefits of continued opioid therapy "
                   "for chronic pain every 3 months. (Strong for) Consideration of opioid therapy for chronic pain "
                   "beyond 90 days requires re-evaluation with patients. (Strong for) The Work Group recommends "
                   "against long-term opioid therapy for chronic pain in patients less than 30 years of age. (Strong "
                   "against)")
    answer = ingested_answer(components, tmp_path,
                             "Given the Work Group says long-term opioid therapy for chronic pain is fine "
                             "for patients under 30, what dose ceiling applies?")
    assert answer.sections[0].text.startswith("The Work Group recommends against long-term opioid therapy"), \
        answer.sections[0].text
    assert "state otherwise" in answer.notices[0], answer.notices


@pytest.mark.slow
def test_a_premise_about_a_recommendation_is_met_by_the_statement_that_contradicts_it(
        tmp_path: Path, write_doc: WriteDoc, packaged_encoder: SentenceTransformerEmbedder) -> None:
    """With the packaged encoder: the guideline's statement whose grade contradicts the position the premise claims
    leads, though a statement of the guideline's background is closer to the premise by meaning, and a position
    on another service (aspirin) is not one on the premise's; but when the guideline also states the position the
    premise claims, for some patients, the premise is not corrected: that statement leads and the contrary one
    follows."""
    built = Components(Settings(data_dir=tmp_path / "data"), embedder=packaged_encoder, judge=LexicalJudge())
    try:
        write_doc("g/carotid.md", kind="guideline", title="Screening for carotid artery stenosis",
                  body="## Recommendations\nCarotid ultrasound screening of adults finds stenosis in about 1 in 100 "
                       "adults over 65. The task force recommends against screening for asymptomatic carotid artery "
                       "stenosis in adults. (D recommendation) In addition, the task force recommends aspirin for "
                       "adults over 65 at increased risk for cardiovascular disease.")
        write_doc("g/chlamydia.md", kind="guideline", title="Screening for chlamydia, recommendation statement",
                  body="## Recommendations\nThe task force recommends screening sexually active young women for "
                       "chlamydia infection every year. (B recommendation) The evidence is insufficient to assess "
                       "screening young men for chlamydia. (I statement)")
        built.ingestor().run([tmp_path / "src"])
        answers = built.answers()
        corrected = answers.answer("Since the task force endorses carotid ultrasound screening for adults over 65, "
                                   "how often should it be repeated?")
        partly = answers.answer("The task force now recommends yearly chlamydia screening for all sexually active "
                                "young people, right? What test should I use?")
        men = answers.answer("The task force now recommends yearly chlamydia screening for sexually active young "
                             "men, right? What test should I use?")
    finally:
        built.close()
    assert corrected.sections[0].text.startswith("The task force recommends against screening for asymptomatic")
    assert "but the sources state otherwise" in corrected.notices[0]
    text = partly.sections[0].text
    assert text.startswith("The task force recommends screening sexually active young women")
    assert "The evidence is insufficient to assess screening young men" in text
    assert "state otherwise" not in partly.notices[0]
    assert men.sections[0].text.startswith("The evidence is insufficient to assess screening young men"), \
        "the recommendation for women states no position on men"
    assert "but the sources state otherwise" in men.notices[0]


@pytest.mark.slow
def test_what_the_question_asks_for_leads(tmp_path: Path, write_doc: WriteDoc,
                                          packaged_encoder: SentenceTransformerEmbedder) -> None:
    """With the packaged encoder (the weights are calibrated for it): a side-effects question leads with the trial's
    harms, not its efficacy result, though both name the treatment."""
    settings = Settings(data_dir=tmp_path / "data", generation={"research_sentences": 1})  # type: ignore[arg-type]
    built = Components(settings, embedder=packaged_encoder, judge=LexicalJudge())
    try:
        write_doc("s/trial.md", title="Exosome microneedling for facial ageing, a split-face trial",
                  body="## Results\nExosome microneedling improved wrinkles, elasticity and skin texture more than "
                       "saline at 12 weeks. Exosome microneedling caused no serious adverse events, only mild redness.")
        built.ingestor().run([tmp_path / "src"])
        text = research(built, "Did exosome microneedling for facial ageing cause side effects?")
    finally:
        built.close()
    assert text.startswith("Exosome microneedling caused no serious adverse events")


@pytest.mark.slow
def test_a_question_asking_which_test_leads_with_the_test(tmp_path: Path, write_doc: WriteDoc,
                                                           packaged_encoder: SentenceTransformerEmbedder) -> None:
    """With the packaged encoder: "which test ..., and is urine acceptable?" leads with the sentence naming the test
    and the specimen, not with the screening recommendation that shares more of the question's words."""
    settings = Settings(data_dir=tmp_path / "data", generation={"guideline_sentences": 1})  # type: ignore[arg-type]
    built = Components(settings, embedder=packaged_encoder, judge=LexicalJudge())
    try:
        write_doc("g/chlamydia.md", kind="guideline", title="Screening for chlamydia, recommendation statement",
                  body="## Recommendations\nThe task force recommends screening for chlamydia in sexually active "
                       "women aged 24 years or younger. (B recommendation) Chlamydia should be diagnosed with nucleic "
                       "acid amplification tests, and urine samples are as sensitive as cervical swabs.")
        built.ingestor().run([tmp_path / "src"])
        text = built.answers().answer("Which test should I use to screen young women for chlamydia, and is a "
                                      "urine sample acceptable?").sections[0].text
        lab = built.answers().answer("Which lab do I actually order to screen a young woman for chlamydia?"
                                     ).sections[0].text  # a dev case's wording
    finally:
        built.close()
    assert text.startswith("Chlamydia should be diagnosed with nucleic acid amplification tests"), text
    assert lab.startswith("Chlamydia should be diagnosed with nucleic acid amplification tests"), lab


def test_a_dose_question_is_answered_only_by_a_dose(components: Components, write_doc: WriteDoc,
                                                    tmp_path: Path) -> None:
    write_doc("s/origin.md", title="Insulin glargine and severe hypoglycaemia",
              body="## Results\nSevere hypoglycaemia with insulin glargine was linked to cardiovascular outcomes. "
                   "Glucose was kept between 110 and 180 mg/dL in hospital.")
    components.ingestor().run([tmp_path / "src"])
    question = "What dose of insulin glargine is used after severe hypoglycaemia?"
    answer = components.answers().answer(question)
    assert not answer.sections[1].evidence_found, "context about the drug, and a concentration, are not a dose"
    write_doc("s/dosing.md", title="Insulin glargine dosing after severe hypoglycaemia",
              body="## Results\nAfter severe hypoglycaemia the insulin glargine dose was reduced to 10 units daily.")
    components.ingestor().run([tmp_path / "src"])
    assert "10 units daily" in components.answers().answer(question).sections[1].text


def test_a_question_asking_what_to_do_leads_with_the_guidelines_stated_advice(
        settings: Settings, embedder: HashEmbedder, write_doc: WriteDoc, tmp_path: Path) -> None:
    """Found on a question no set holds: "Should I check a TSH ...?" was answered with TSH thresholds, and the I
    statement on screening, which answers it, ranked below them."""
    assert asks_for_decision("Should I check a TSH on a 50-year-old woman?")
    assert asks_for_decision("Does the USPSTF recommend screening for thyroid dysfunction?")
    assert not asks_for_decision("What TSH level is considered overt hyperthyroidism?")
    # the ask after the case, or "what should I do": the fluoride question had been answered with the rationale
    assert asks_for_decision("What should I be doing in well-child visits for caries prevention - varnish, both?")
    assert asks_for_decision("A 72-year-old with mild depression: should I start an SSRI or refer for therapy?")
    assert asks_for_decision("The USPSTF endorses an annual pelvic exam, so should I still do one at 30?")
    # the ask as a sentence of its own after the case: the I statement on cognitive screening had not been quoted
    assert asks_for_decision("My patient is 78 and has no memory complaints. Should I screen her for dementia?")
    assert not asks_for_decision("My patient is 78 and has no memory complaints. What does she need?")
    assert not asks_for_decision("What starting dose of sertraline should I use?"), "a dose, not what to do"
    assert not asks_for_decision("Since USPSTF recommends screening everyone 15 to 65 for HIV, how often should I "
                                 "rescreen?")
    write_doc("g/thyroid.md", kind="guideline", title="Screening for thyroid dysfunction",
              body="## Recommendations\nA TSH level above 10 mIU/L is the usual threshold to treat. The "
                   "evidence is insufficient to assess screening for thyroid dysfunction in asymptomatic adults "
                   "(I statement).")
    text = first_guideline_sentences(settings, embedder, tmp_path,
                                     "Should I check a TSH level in a woman without symptoms?")
    assert text.startswith("The evidence is insufficient to assess screening"), text


def test_the_advice_for_the_patient_the_question_describes_leads(settings: Settings, embedder: HashEmbedder,
                                                                  write_doc: WriteDoc, tmp_path: Path) -> None:
    """A second-corpus dev question ("... what range do they suggest when life expectancy is under 5 years?") had led
    with the target for 5 to 10 years; the target for the patient's life expectancy now leads."""
    write_doc("g/a1c.md", kind="guideline", title="Type 2 diabetes in primary care",
              body="## Recommendations\nWe suggest a target HbA1c range of 6.0% to 7.0% for patients with type 2 "
                   "diabetes and a life expectancy greater than 10 to 15 years. We recommend an HbA1c range of 7.0% "
                   "to 8.5% for patients with type 2 diabetes and 5 to 10 years life expectancy. We suggest a "
                   "target HbA1c range of 8.0% to 9.0% for patients with type 2 diabetes with life expectancy <5 "
                   "years.")
    question = "A patient with type 2 diabetes has maybe 3 years to live. What HbA1c range is suggested?"
    text = first_guideline_sentences(settings, embedder, tmp_path, question)
    assert text.startswith("We suggest a target HbA1c range of 8.0% to 9.0%"), text


def test_a_question_on_how_strong_a_recommendation_is_leads_with_its_grade(components: Components,
                                                                          write_doc: WriteDoc, tmp_path: Path) -> None:
    assert asks_for_strength("How strong is that recommendation?") and asks_for_strength("It got a B grade, right?")
    assert not asks_for_strength("Should adults be screened for high blood pressure?")
    write_doc("g/bp.md", kind="guideline", organization="USPSTF", year=2015, title="High blood pressure screening",
              body="## Recommendation\nMost adults have their blood pressure measured at primary care visits every "
                   "year. Screen adults aged 18 years or older for high blood pressure (A recommendation).")
    answer = ingested_answer(components, tmp_path,
                             "How strong is the recommendation that adults have their blood pressure "
                             "measured at primary care visits every year?")
    assert answer.sections[0].text.startswith("Screen adults aged 18 years or older"), answer.sections[0].text


def test_a_dose_placed_in_a_series_is_not_a_dose_asked_for(components: Components, write_doc: WriteDoc,
                                                           tmp_path: Path) -> None:
    """"What are the minimum intervals between doses?" asks when, not how much: the interval answers it although no
    sentence states an amount (the dose rule had silenced the section)."""
    assert asks_for_dose("What starting dose of sertraline should I use?")
    assert asks_for_dose("How many doses would he need, and is 100 mg enough?")
    # the end of a compound names a test or a product: "low-dose CT" had been read as a dose asked for
    assert not asks_for_dose("A 62-year-old quit smoking 18 years ago. Should I order a low-dose CT for lung cancer?")
    assert asks_for_dose("Is low-dose aspirin enough, or what dose should she take?")
    assert not asks_for_dose("Do we restart the series, and what are the minimum intervals between doses?")
    assert not asks_for_dose("How long should I wait between the first and second dose?")
    write_doc("s/series.md", title="Hepatitis B vaccine series in health-care personnel",
              body="## Results\nAn interrupted hepatitis B vaccine series does not need to be restarted; the minimum "
                   "intervals are 4 weeks between the first and second dose and 8 weeks between the second and third.")
    answer = ingested_answer(components, tmp_path,
                             "For the hepatitis B vaccine series, do we restart an interrupted series, "
                             "and what are the minimum intervals between doses?")
    assert "does not need to be restarted" in answer.sections[1].text


TRIAL_RESULTS = ("Exosome microneedling improved wrinkles and elasticity more than saline at 12 weeks.",
                 "Exosome microneedling also improved pigmentation and hydration more than saline at 12 weeks.",
                 "Exosome microneedling also improved skin texture and pore size more than saline at 12 weeks.")


def research_leads(tmp_path: Path, write_doc: WriteDoc, encoder: SentenceTransformerEmbedder, results: Sequence[str],
                   questions: Sequence[str]) -> list[str]:
    """The research section of each turn of one conversation over one trial reporting ``results``, each section
    quoting one sentence."""
    settings = Settings(data_dir=tmp_path / "data", generation={"research_sentences": 1})  # type: ignore[arg-type]
    built = Components(settings, embedder=encoder, judge=LexicalJudge())
    try:
        write_doc("s/trial.md", title="Exosome microneedling for facial ageing, a split-face trial",
                  body="## Results\n" + " ".join(results))
        built.ingestor().run([tmp_path / "src"])
        service = built.answers()
        first = service.answer(questions[0])
        answers = [first] + [service.answer(q, conversation_id=first.conversation_id) for q in questions[1:]]
    finally:
        built.close()
    return [answer.sections[1].text for answer in answers]


def test_a_follow_up_leads_with_what_it_asks_not_with_what_was_said(tmp_path: Path, write_doc: WriteDoc,
                                                                     packaged_encoder: SentenceTransformerEmbedder
                                                                     ) -> None:
    """"What else did it improve?" after the trial's wrinkle result: the result quoted the turn before is not said
    first again; the other finding leads."""
    first, follow = research_leads(tmp_path, write_doc, packaged_encoder, TRIAL_RESULTS[:2],
                                   ["Did exosome microneedling improve wrinkles and elasticity?",
                                    "What else did it improve?"])
    assert first.startswith("Exosome microneedling improved wrinkles")
    assert follow.startswith("Exosome microneedling also improved pigmentation")


def test_a_third_turn_does_not_repeat_what_the_first_said(tmp_path: Path, write_doc: WriteDoc,
                                                          packaged_encoder: SentenceTransformerEmbedder) -> None:
    """Three turns on one trial, one sentence each: what any earlier answer quoted ranks lower, not only the last
    answer's (the third turn had led with the first turn's sentence again)."""
    sections = research_leads(tmp_path, write_doc, packaged_encoder, TRIAL_RESULTS,
                              ["Did exosome microneedling improve wrinkles and elasticity?",
                               "What else did it improve?", "And what else?"])
    leads = [text.split(" more than saline")[0] for text in sections]
    assert leads[0] == "Exosome microneedling improved wrinkles and elasticity"
    assert len(set(leads)) == 3, leads  # each turn says something no earlier turn said


def test_a_list_item_is_quoted_whole(one_sentence: Components, write_doc: WriteDoc, tmp_path: Path) -> None:
    text = research_of_one_study(
        one_sentence, write_doc, tmp_path, "First-line options for mild depression",
        "## Results\n- For mild depression, psychotherapy and antidepressant drugs were both offered as first-line "
        "options. No one option was favoured over the other.\n- Exercise was advised for everyone with mild "
        "depression.\n",
        "For mild depression, were psychotherapy and antidepressant drugs offered as first-line options?")
    assert text.startswith("For mild depression, psychotherapy and antidepressant drugs were both offered as "
                           "first-line options [1]. No one option was favoured over the other [1].")
    assert "Exercise" not in text


def test_a_study_recorded_without_results_gives_way_to_one_with_results(
        one_sentence: Components, write_doc: WriteDoc, tmp_path: Path) -> None:
    components = one_sentence
    question = "Does microneedling with platelet-rich plasma improve acne scars more than microneedling alone?"
    write_doc("s/design.md", title="Microneedling with platelet-rich plasma for acne scars (design only)", year=2024,
              body="## Design\nThis trial compared microneedling with platelet-rich plasma against microneedling "
                   "alone for acne scars in 30 patients.")
    components.ingestor().run([tmp_path / "src"])
    assert "in 30 patients [1]" in research(components, question)  # nothing else addresses it: it is quoted
    write_doc("s/results.md", title="Platelet-rich plasma with microneedling for acne scars", year=2010,
              body="## Results\nScars improved more with platelet-rich plasma and microneedling (p = 0.01).")
    components.ingestor().run([tmp_path / "src"])
    text = research(components, question)  # the newer design-only record scores as high: a finding leads anyway
    assert "(p = 0.01)" in text and "30 patients" not in text


def test_a_sentence_opening_on_the_recommendation_it_is_about_does_not_lean_on_another() -> None:
    """"This recommendation applies to ... adults at high risk for HBV infection (including those ... vaccinated before
    being screened)" answers who is covered; read as leaning on the sentence before it, it ranked below three others."""
    assert _wording_bonus("This recommendation applies to adults at high risk, including those vaccinated before "
                          "being screened.") >= 0
    assert _wording_bonus("These statements cover adolescents and adults.") >= 0
    assert _wording_bonus("This was the largest trial of the three.") < 0
    assert _wording_bonus("These were small and unblinded.") < 0


def test_a_question_on_how_large_the_studies_are_gets_each_ones_count(
        settings: Settings, embedder: HashEmbedder, write_doc: WriteDoc, tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    """"How big are the randomised trials ...?" was answered from the meta-analysis's findings alone: the trial
    recorded without results, which states its size, gave way to it. Asked for size, each publication's count of the
    people it studied is its first pick, and a record without results adds its count beyond the section's limit."""
    generation = settings.generation.model_copy(update={"research_sentences": 1})
    meaning = settings.meaning.model_copy(update={"relative_floor": 0.2})  # both publications are close enough
    components = Components(settings.model_copy(update={"generation": generation, "meaning": meaning}),
                            embedder=embedder, judge=LexicalJudge())
    request.addfinalizer(components.close)
    write_doc("s/design.md", title="Microneedling with platelet-rich plasma for acne scars (design only)", year=2024,
              body="## Design\nThe trial of microneedling with platelet-rich plasma for acne scars randomised 30 "
                   "patients.")
    write_doc("s/results.md", title="Platelet-rich plasma with microneedling for acne scars", year=2010,
              body="## Results\nScars improved more with platelet-rich plasma and microneedling (p = 0.01). Sixty "
                   "patients with acne scars were enrolled for microneedling and platelet-rich plasma in the trial.")
    components.ingestor().run([tmp_path / "src"])
    findings = research(components, "Does microneedling with platelet-rich plasma improve acne scars?")
    assert "30 patients" not in findings, "asked for an effect, the record without results gives way"
    sizes = research(components, "How big are the trials of microneedling with platelet-rich plasma for acne scars?")
    assert sizes.startswith("Sixty patients with acne scars were enrolled"), sizes
    assert "randomised 30 patients" in sizes
    assert not asks_for_size("Did the trials of PRP for acne scars report how long the benefit lasted?")


def test_a_studys_findings_end_with_its_authors_caution(one_sentence: Components, write_doc: WriteDoc,
                                                         tmp_path: Path) -> None:
    """A reading found "SSRIs had the highest adjusted hazard ratios for falls" quoted without the cohort's "open to
    confounding by indication": an association read as an effect."""
    text = research_of_one_study(
        one_sentence, write_doc, tmp_path, "Antidepressants and falls in older people",
        "## Results\nFalls were more common on SSRIs than off antidepressants in older people (hazard ratio 1.66).\n\n"
        "## Limitations\nThe design is observational and open to confounding by indication; confirmation is needed.",
        "Do SSRIs raise the risk of falls in older people?")
    assert text == ("Falls were more common on SSRIs than off antidepressants in older people (hazard ratio 1.66) [1]. "
                    "The design is observational and open to confounding by indication; confirmation is needed [1].")
