"""What an answer says against the case: required facts, forbidden statements, the leading publication, gold cited,
and a false premise corrected up front."""

from __future__ import annotations

from evals.cases import EvalCase, Gold
from evals.metrics.content import ForbiddenStatements, LeadAndCitedGold, PremiseCorrected, RequiredFacts, says
from tests.evals.test_metrics import answer, context

NO_GUIDELINE = "No guideline in our sources addresses this question."


def case(tags: tuple[str, ...] = (), **gold: object) -> EvalCase:
    return EvalCase(id="c", question="q", gold=Gold.model_validate(gold), tags=tags)


def test_phrases_match_across_case_hyphens_and_citation_markers() -> None:
    text = "No statistically-significant difference [2] in Micro Needling."
    from evals.metrics.content import normalised

    assert says(normalised(text), "statistically significant difference in micro-needling")
    assert says(normalised(text), ("not there", "NO STATISTICALLY significant"))
    assert not says(normalised(text), "microneedling")


def test_required_facts_share_and_failures() -> None:
    a = answer(NO_GUIDELINE, "The PRP side improved by 62% [1]. Twenty patients took part [2].", {1: "study", 2: "study"})
    ctx = context(a, case(must_say=[["62%", "sixty-two"], "20 patients", "no serious adverse events"]))
    assert RequiredFacts().evaluate(ctx) == {"required_facts": 1 / 3}
    assert [f["sentence"] for f in ctx.failures] == ["missing: '20 patients'", "missing: 'no serious adverse events'"]
    assert RequiredFacts().evaluate(context(a)) == {"required_facts": None}


def test_facts_in_an_abstaining_section_do_not_count() -> None:
    a = answer(NO_GUIDELINE, "There are no direct studies of 62% improvement.", {})
    assert RequiredFacts().evaluate(context(a, case(must_say=["62%"]))) == {"required_facts": 0.0}


def test_forbidden_statements_are_counted_in_sections_and_limitations() -> None:
    a = answer("Exosomes are FDA-approved [1].", "PRP is safe [2].", {1: "guideline", 2: "study"})
    scores = ForbiddenStatements().evaluate(context(a, case(must_not_say=["exosomes are FDA approved", "cures"])))
    assert scores == {"forbidden_statements": 1.0}


def test_lead_and_gold_cited() -> None:
    a = answer(NO_GUIDELINE, "A trial of PRP [2]. The head-to-head trial [1].", {1: "study", 2: "study"})
    ctx = context(a, case(study_doc_ids=["d1"], lead={"research": ["d1"]}))
    assert LeadAndCitedGold().evaluate(ctx) == {"lead_correct": 0.0, "gold_cited": 1.0, "gold_precision": 0.5}
    swapped = answer(NO_GUIDELINE, "The head-to-head trial [1]. A trial of PRP [2].", {1: "study", 2: "study"})
    assert LeadAndCitedGold().evaluate(context(swapped, case(study_doc_ids=["d1"], lead={"research": ["d1"]}))) == {
        "lead_correct": 1.0, "gold_cited": 1.0, "gold_precision": 0.5}
    assert LeadAndCitedGold().evaluate(context(swapped, case(study_doc_ids=["d9"]))) == {
        "lead_correct": None, "gold_cited": 0.0, "gold_precision": 0.0}
    only_gold = answer(NO_GUIDELINE, "The head-to-head trial [1].", {1: "study"})
    assert LeadAndCitedGold().evaluate(context(only_gold, case(study_doc_ids=["d1"])))["gold_precision"] == 1.0
    assert LeadAndCitedGold().evaluate(context(only_gold, case()))["gold_precision"] is None


def test_premise_corrected_only_when_a_section_opens_with_the_cited_correction() -> None:
    premise = dict(must_say=["no exosome product is approved"], must_not_say=["exosomes are approved"])
    opens = answer("No exosome product is approved by the FDA [1]. It warns of infections [1].",
                   "There are no direct studies.", {1: "guideline"})
    corrected = {"premise_corrected": 1.0, "premise_confirmed": None}
    assert PremiseCorrected().evaluate(context(opens, case(("false-premise",), **premise))) == corrected
    buried = answer("It warns of infections [1]. No exosome product is approved by the FDA [1].",
                    "There are no direct studies.", {1: "guideline"})
    assert PremiseCorrected().evaluate(context(buried, case(("false-premise",), **premise)))[
        "premise_corrected"] == 0.0
    repeats = answer("No exosome product is approved by the FDA [1].", "Exosomes are approved in Korea [2].",
                     {1: "guideline", 2: "study"})
    assert PremiseCorrected().evaluate(context(repeats, case(("false-premise",), **premise)))[
        "premise_corrected"] == 0.0
    assert PremiseCorrected().evaluate(context(opens, case(**premise))) == {"premise_corrected": None,
                                                                           "premise_confirmed": None}


def test_a_true_premise_is_met_up_front_and_never_called_false_even_in_a_notice() -> None:
    premise = dict(must_say=["screen adults aged 15 to 65"], must_not_say=["sources state otherwise"])
    met = answer("The USPSTF recommends that clinicians screen adults aged 15 to 65 for HIV [1].",
                 "There are no direct studies.", {1: "guideline"})
    assert PremiseCorrected().evaluate(context(met, case(("true-premise",), **premise))) == {
        "premise_corrected": None, "premise_confirmed": 1.0}
    met.notices.append('The question takes for granted that "the USPSTF says to screen everyone aged 15 to 65", but '
                       'the sources state otherwise: [1] "The evidence is insufficient to set intervals."')
    ctx = context(met, case(("true-premise",), **premise))
    assert PremiseCorrected().evaluate(ctx)["premise_confirmed"] == 0.0
    assert ForbiddenStatements().evaluate(ctx) == {"forbidden_statements": 1.0}
    quoting = answer("The USPSTF recommends that clinicians screen adults aged 15 to 65 for HIV [1].",
                     "There are no direct studies.", {1: "guideline"})
    quoting.notices.append('The question takes for granted that "exosomes are approved"; check it.')
    assert ForbiddenStatements().evaluate(context(quoting, case(must_not_say=["exosomes are approved"]))) == {
        "forbidden_statements": 0.0}, "what a notice quotes is not the answer's own statement"
