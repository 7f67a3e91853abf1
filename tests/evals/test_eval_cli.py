"""`rag eval` and `rag judge` with the real packaged model: outputs, gates, and the harness's sensitivity (shuffled
citations must score far lower than the verified ones)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rag.cli import main
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.slow

PRP_CASES = ["seed-prp-vs-exosome", "exosome-fda-approval", "prp-mn-acne-scars", "exosome-adverse-events",
             "prp-after-co2-laser", "microneedling-granulomas", "prp-vs-tca", "followup-safety", "paw-classification"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, topic_index: Path) -> tuple[Path, Path]:
    """An index of the PRP/exosome topic (a copy of ``topic_index``), and a dataset of the starter cases about it."""
    root = tmp_path_factory.mktemp("eval")
    data = root / "data"
    shutil.copytree(topic_index, data)
    dataset = root / "prp.jsonl"
    lines = (ROOT / "evals" / "datasets" / "starter.jsonl").read_text().splitlines()
    dataset.write_text("\n".join(line for line in lines if json.loads(line)["id"] in PRP_CASES) + "\n")
    return data, dataset


@pytest.fixture(scope="module")
def live(setup: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One live run of the PRP cases: its summary and its output folder (shared: the tests only read it)."""
    data, dataset = setup
    out = tmp_path_factory.mktemp("live")
    code, printed = run("eval", str(dataset), "--data-dir", str(data), "--out", str(out), "--json")
    assert code == 0, printed
    return json.loads(printed), out


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_eval_writes_outputs_passes_gates_and_compares(setup: tuple[Path, Path], tmp_path: Path,
                                                      live: tuple[dict[str, Any], Path]) -> None:
    data, dataset = setup
    gates = ["--fail-under", "citation_validity=1.0", "--fail-under", "section_routing=1.0",
             "--fail-under", "citation_recall=0.95"]
    code, out = run("eval", str(dataset), "--data-dir", str(data), "--out", str(tmp_path / "a"), "--json", *gates,
                    "--baseline", str(live[1] / "summary.json"), "--fail-on-regression")
    again = json.loads(out)
    assert code == 0 and again["gates_failed"] == [] and again["cases"] == len(PRP_CASES)
    for name in ("cases", "summary", "report"):
        assert Path(again["outputs"][name]).is_file()
    assert set(again["deltas"].values()) == {0.0}, "two offline runs (this one and the live one) give identical numbers"
    comparison = again["comparison"]
    assert comparison["newly_failing"] == comparison["newly_passing"] == comparison["changed"] == []
    assert set(comparison["differences"]) <= {"git_commit"}, "same provenance (the commit may be dirty or not)"
    compared = [m for m in comparison["metrics"].values() if m["delta"] is not None]
    assert compared and all(m["comparable"] and m["ci"][0] <= 0 <= m["ci"][1] for m in compared)
    provenance = again["provenance"]
    assert provenance["corpus"]["documents"] > 0 and len(provenance["corpus"]["content_sha256"]) == 64
    assert provenance["judge"]["name"] == "offline" and provenance["judge"]["fingerprint"]
    assert provenance["dataset"]["sha256"] and "answer.j2" in provenance["prompts"]
    assert "api_key" not in provenance["settings"]["generation"] and provenance["packages"]["chromadb"]
    code, out = run("eval", str(dataset), "--data-dir", str(data), "--out", str(tmp_path / "c"),
                    "--fail-under", "citation_precision=1.01")
    assert code == 1 and "gate failed" in out
    code, out = run("eval", str(dataset), "--data-dir", str(data), "--fail-under", "accuracy=1")
    assert code == 2 and "unknown metric 'accuracy'" in out


def shuffle_citations(answer: dict[str, object]) -> dict[str, object]:
    """Each citation moved to the next of the answer's references (a derangement when there are two or more)."""
    numbers = [r["n"] for r in answer["references"]]  # type: ignore[index, union-attr]
    shift = {n: numbers[(i + 1) % len(numbers)] for i, n in enumerate(numbers)}
    sections = [dict(s, text=re.sub(r"\[(\d+)\]", lambda m: f"[{shift.get(int(m.group(1)), 0)}]", s["text"]))
                for s in answer["sections"]]  # type: ignore[union-attr]
    return dict(answer, sections=sections)


def test_shuffled_citations_score_at_least_50_points_lower(setup: tuple[Path, Path], tmp_path: Path,
                                                          live: tuple[dict[str, Any], Path]) -> None:
    data, dataset = setup
    verified = live[0]["metrics"]
    assert verified["citation_recall"]["mean"] >= 0.95
    answers = [json.loads(line) for line in (live[1] / "cases.jsonl").read_text().splitlines()]
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("\n".join(json.dumps(dict(shuffle_citations(a["answer"]), id=a["id"])) for a in answers))
    code, out = run("eval", str(dataset), "--answers", str(shuffled), "--data-dir", str(data), "--out",
                    str(tmp_path / "shuffled"), "--json")
    assert code == 0, out
    broken = json.loads(out)["metrics"]
    for metric in ("citation_recall", "citation_precision"):
        assert verified[metric]["mean"] - broken[metric]["mean"] >= 0.5, (metric, verified, broken)


def test_judge_command(tmp_path: Path, setup: tuple[Path, Path]) -> None:
    data, _ = setup
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps(p) for p in [
        {"id": "yes", "claim": "No exosome product is approved by the FDA.",
         "passage": "The FDA states that no exosome product is approved; such products need premarket review."},
        {"id": "no", "claim": "Exosome facials cure acne scars in 90% of patients.",
         "passage": "Blood pressure screening is recommended for adults aged 18 years or older."},
        {"id": "empty", "claim": "Exosome facials cure acne scars.", "passage": "  "},
        {"id": "one-line", "claim": "Exosome facials cure acne scars.", "passage": "exosome facials for acne scars"},
    ]))
    code, out = run("judge", "--pairs", str(pairs), "--data-dir", str(data))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [(x["id"], x["supported"]) for x in lines][:3] == [("yes", True), ("no", False),
                                                                           ("empty", False)]
    assert lines[2]["score"] == 0.0 and lines[3]["id"] == "one-line", "a passage without a sentence is judged too"
    assert 0 <= lines[1]["score"] < lines[0]["score"] <= 1
    good = {"id": 2, "claim": "No exosome product is approved by the FDA.", "passage": "No exosome product is approved."}
    pairs.write_text("\n".join(['{"id": 1, "claim": "only a claim"}', json.dumps(good), "[1, 2]", json.dumps(good)]))
    result = CliRunner().invoke(main, ["judge", "--pairs", str(pairs), "--data-dir", str(data)])
    assert result.exit_code == 1  # the bad lines are named, the good one is judged
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [2]
    errors = result.stderr.splitlines()
    assert errors[0] == f"skipped {pairs}:1: fields 'claim' and 'passage' (strings) are required"
    assert errors[1].startswith(f"skipped {pairs}:3: ") and "JSON object" in errors[1]
    assert errors[2] == f"skipped {pairs}:4: id 2 was already used on line 2"
    assert errors[3] == f"error: {pairs}: 3 lines skipped (see above); the others ran"


def old_shape(answer: dict[str, object]) -> dict[str, object]:
    """The answer as clients wrote it before references carried a list of quotes."""
    references = [{k: v for k, v in r.items() if k not in ("quotes", "notes")}  # type: ignore[union-attr]
                  for r in answer["references"]]  # type: ignore[union-attr]
    return dict(answer, references=references)


def test_old_one_quote_answers_and_deleted_chunks_are_still_scored(setup: tuple[Path, Path], tmp_path: Path,
                                                                   live: tuple[dict[str, Any], Path]) -> None:
    data, dataset = setup
    metrics = live[0]["metrics"]
    answers = [json.loads(line) for line in (live[1] / "cases.jsonl").read_text().splitlines()]
    assert all(r["quotes"] and r["quote"] == r["quotes"][0]["text"] for a in answers for r in a["answer"]["references"])
    old = tmp_path / "old.jsonl"
    old.write_text("\n".join(json.dumps(dict(old_shape(a["answer"]), id=a["id"])) for a in answers))
    code, out = run("eval", str(dataset), "--answers", str(old), "--data-dir", str(data), "--out", str(tmp_path / "o"),
                    "--json")
    assert code == 0 and json.loads(out)["metrics"]["citation_validity"]["mean"] == metrics["citation_validity"]["mean"]
    gone = tmp_path / "gone.jsonl"  # every quote from a chunk the index no longer has: the quotes are the passages
    moved = [dict(a["answer"], id=a["id"], references=[
        dict(r, quotes=[dict(q, chunk_id=f"deleted-{i}") for i, q in enumerate(r["quotes"])])
        for r in a["answer"]["references"]]) for a in answers]
    gone.write_text("\n".join(json.dumps(m) for m in moved))
    code, out = run("eval", str(dataset), "--answers", str(gone), "--data-dir", str(data), "--out", str(tmp_path / "g"),
                    "--json")
    assert code == 0 and json.loads(out)["metrics"]["citation_validity"]["mean"] == 1.0


def shift_citations(answer: dict[str, Any]) -> dict[str, Any]:
    """Every [n] written as [n+1]: each sentence cites another passage, the last reference's a missing one."""
    sections = [dict(s, text=re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + 1}]", s["text"]))
                for s in answer["sections"]]
    return dict(answer, sections=sections)


def test_shifted_citations_are_regressions_listed_by_case(setup: tuple[Path, Path], tmp_path: Path,
                                                         live: tuple[dict[str, Any], Path]) -> None:
    data, dataset = setup
    records = [json.loads(line) for line in (live[1] / "cases.jsonl").read_text().splitlines()]
    cited = [r for r in records if r["status"] == "pass" and any(re.search(r"\[\d+\]", s["text"])
                                                                  for s in r["answer"]["sections"])]
    shifted = [r["id"] for r in cited[::3]]
    assert len(shifted) >= 2
    answers = tmp_path / "shifted.jsonl"
    answers.write_text("\n".join(json.dumps(dict(shift_citations(r["answer"]) if r["id"] in shifted else r["answer"],
                                                 id=r["id"])) for r in records))
    code, out = run("eval", str(dataset), "--answers", str(answers), "--data-dir", str(data), "--out",
                    str(tmp_path / "shifted"), "--json", "--baseline", str(live[1]), "--fail-on-regression")
    summary = json.loads(out)
    assert code == 1 and "passed in the baseline and fail now" in summary["gates_failed"][0]
    comparison = summary["comparison"]
    assert sorted(comparison["newly_failing"]) == sorted(shifted) and comparison["newly_passing"] == []
    saved = json.loads((tmp_path / "shifted" / "summary.json").read_text())
    assert saved["comparison"]["newly_failing"] == comparison["newly_failing"]
    for metric in ("retrieval_recall@10", "retrieval_ndcg@10", "retrieval_mrr"):
        assert comparison["metrics"][metric] == {**comparison["metrics"][metric], "comparable": False, "delta": None}
        assert metric not in summary["deltas"], "reference order is never diffed against the live retriever"
    recall = comparison["metrics"]["citation_recall"]
    assert recall["comparable"] and recall["delta"] < 0 and recall["ci"][1] <= 0
    report = (tmp_path / "shifted" / "report.html").read_text()
    cases_table = report.split("<h2>Cases</h2>", 1)[1].split("</table>", 1)[0]
    first_rows = re.findall(r"<tr><td>([^<]+)</td>", cases_table)[:len(shifted)]
    assert sorted(first_rows) == sorted(shifted), "regressions are shown first"
    assert "Answers before and after" in report and "newly failing" in report and "<b>Failed:</b>" in report
    lines = [json.loads(line) for line in (tmp_path / "shifted" / "cases.jsonl").read_text().splitlines()]
    for line in lines:
        assert line["baseline"]["change"] == ("newly failing" if line["id"] in shifted else "same")
