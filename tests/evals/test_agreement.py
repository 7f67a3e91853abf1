"""Judge agreement with labels: the metrics on hand-computed cases, the degenerate ones, the threshold sweep, the
record in judge-agreement.json, and `rag judge --labels` (with the fake embedder and the lexical judge)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import rag.factory
from evals.agreement import (
    AGREEMENT_FILE,
    SWEEP,
    Confusion,
    last_agreement,
    measure,
    parse_label,
    record_agreement,
)
from rag.cli import main
from rag.errors import UserError
from rag.judge.protocol import Judgment
from rag.testing import HashEmbedder, LexicalJudge

T, F = True, False


def test_counts_and_metrics_of_a_hand_computed_matrix() -> None:
    labels = [T, T, T, T, T, T, F, F, F, F]
    judged = [T, T, T, T, F, F, T, F, F, F]
    counts = Confusion.of(labels, judged)
    assert (counts.tp, counts.fp, counts.fn, counts.tn, counts.n) == (4, 1, 2, 3, 10)
    # observed = 7/10; labels say supported 6/10, the judge 5/10: chance = 0.6*0.5 + 0.4*0.5 = 0.5
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4; recall 4/6, specificity 3/4: balanced accuracy (2/3 + 3/4) / 2 = 17/24
    assert counts.kappa == pytest.approx(0.4)
    assert counts.balanced_accuracy == pytest.approx(17 / 24)
    assert counts.accuracy == pytest.approx(0.7)
    assert counts.precision == pytest.approx(0.8) and counts.recall == pytest.approx(4 / 6)
    assert counts.to_dict() == {"tp": 4, "fp": 1, "fn": 2, "tn": 3, "balanced_accuracy": 0.708333, "kappa": 0.4}


def test_kappa_of_total_disagreement_is_minus_one_and_of_chance_level_zero() -> None:
    assert Confusion.of([T, F], [F, T]).kappa == pytest.approx(-1.0)
    # labels 1/2 supported, judge always supported: observed 1/2 = chance 1/2
    assert Confusion.of([T, F, T, F], [T, T, T, T]).kappa == pytest.approx(0.0)


def test_degenerate_cases_are_none_not_division_errors() -> None:
    empty = Confusion.of([], [])
    assert (empty.accuracy, empty.balanced_accuracy, empty.kappa, empty.precision, empty.recall) == (None,) * 5
    same = Confusion.of([T, T, T], [T, T, T])  # labels and decisions all one class: no chance left to beat
    assert same.kappa is None and same.balanced_accuracy == 1.0 and same.specificity is None
    all_supported = Confusion.of([T, T, T, T], [T, T, F, F])  # one class among the labels: its recall
    assert all_supported.balanced_accuracy == pytest.approx(0.5) and all_supported.kappa == pytest.approx(0.0)
    never_said = Confusion.of([T, F], [F, F])
    assert never_said.precision is None and never_said.balanced_accuracy == pytest.approx(0.5)
    report = measure([], []).to_dict()
    assert report["pairs"] == 0 and report["kappa"] is None and report["best_threshold"] is None


@pytest.mark.parametrize(("value", "expected"), [(True, T), (False, F), ("supported", T), ("Unsupported", F),
                                                 (1, T), (0, F)])
def test_labels_accepted(value: object, expected: bool) -> None:
    assert parse_label(value) is expected


@pytest.mark.parametrize("value", ["maybe", "yes", 2, 1.0, None, [True]])
def test_other_labels_are_refused(value: object) -> None:
    with pytest.raises(UserError, match="'label' must be"):
        parse_label(value)


def test_sweep_finds_the_threshold_that_separates_the_classes() -> None:
    labels = [T, T, F, F]
    judgments = [Judgment(T, 0.9), Judgment(F, 0.42), Judgment(F, 0.35), Judgment(F, 0.1)]
    agreement = measure(labels, judgments)
    assert SWEEP[0] == 0.05 and SWEEP[-1] == 0.95 and len(SWEEP) == 19
    by_threshold = dict(agreement.sweep)
    assert by_threshold[0.4].balanced_accuracy == 1.0 and by_threshold[0.4].kappa == pytest.approx(1.0)
    assert by_threshold[0.35].fp == 1, "a score equal to the threshold counts as supported"
    assert by_threshold[0.05].balanced_accuracy == 0.5 and by_threshold[0.05].kappa == pytest.approx(0.0)
    assert agreement.best_threshold == 0.4
    assert agreement.decisions.balanced_accuracy == pytest.approx(0.75)  # the judge's own: one of two supported
    sweep = agreement.to_dict()["sweep"]
    assert sweep[0]["threshold"] == "judge" and [row["threshold"] for row in sweep[1:]] == list(SWEEP)


def test_a_tie_goes_to_the_lowest_threshold() -> None:
    agreement = measure([T, F], [Judgment(T, 1.0), Judgment(F, 0.0)])  # a yes/no judge: every threshold alike
    assert agreement.best_threshold == 0.05


def record(data_dir: Path, judge: LexicalJudge, pairs: int, **kwargs: object) -> Path:
    labels = [T] * pairs
    return record_agreement(data_dir, judge, Path("pairs.jsonl"), "0" * 64,
                            measure(labels, [Judgment(T, 1.0)] * pairs), **kwargs)  # type: ignore[arg-type]


def test_record_replaces_its_own_key_and_keeps_the_others(tmp_path: Path) -> None:
    strict, loose = LexicalJudge(0.9), LexicalJudge(0.5)
    path = record(tmp_path, strict, 3)
    record(tmp_path, loose, 4)
    record(tmp_path, strict, 5)
    records = json.loads(path.read_text())
    assert set(records) == {"lexical@lexical-threshold-0.9", "lexical@lexical-threshold-0.5"}
    assert records["lexical@lexical-threshold-0.9"]["pairs"] == 5 and records["lexical@lexical-threshold-0.5"]["pairs"] == 4
    last = last_agreement(tmp_path, strict)
    assert last is not None and last["balanced_accuracy"] == 1.0 and last["pairs_sha256"] == "0" * 64
    assert datetime.fromisoformat(last["measured_at"]).utcoffset() is not None
    assert last_agreement(tmp_path, LexicalJudge(0.7)) is None
    assert [p.name for p in tmp_path.iterdir()] == [AGREEMENT_FILE], "no temporary file is left behind"


def test_an_unreadable_record_file_is_reported_and_replaced(tmp_path: Path) -> None:
    (tmp_path / AGREEMENT_FILE).write_text('{"offline@x": {"pairs": 3}')  # cut off mid-write by someone
    assert last_agreement(tmp_path, LexicalJudge()) is None
    warnings: list[str] = []
    path = record(tmp_path, LexicalJudge(), 2, warn=warnings.append)
    assert warnings == [f"warning: {path} could not be read; it is replaced"]
    assert list(json.loads(path.read_text())) == ["lexical@lexical-threshold-0.6"]
    assert last_agreement(tmp_path / "missing", LexicalJudge()) is None


# `rag judge --labels`: the fake embedder (no model is loaded) and the lexical judge, whose decisions are plain: a
# passage supports a claim holding 60% of its content words and all its numbers (score = that share).
TP = {"claim": "Aspirin reduces stroke risk.", "passage": "Aspirin reduces stroke risk in adults."}
TN = {"claim": "Metformin causes weight gain.", "passage": "Blood pressure screening is advised."}


@pytest.fixture
def lexical_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(rag.factory, "make_embedder", lambda settings: HashEmbedder())
    monkeypatch.setattr(rag.factory.Components, "judge", lambda self, spec=None: LexicalJudge())
    yield


def write_pairs(path: Path, lines: list[object]) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def judge_labels(pairs: Path, data: Path, *extra: str) -> Result:
    return CliRunner().invoke(main, ["judge", "--pairs", str(pairs), "--labels", "--data-dir", str(data), *extra],
                              env={"COLUMNS": "250"})  # the tables unwrapped


def crafted(tmp_path: Path) -> Path:
    """TP 2, FP 1, FN 1, TN 2, with every way of writing a label."""
    return write_pairs(tmp_path / "pairs.jsonl", [
        {"id": "tp1", **TP, "label": True}, {"id": "tp2", **TP, "label": "supported"},
        {"id": "fp", **TP, "label": 0}, {"id": "fn", **TN, "label": 1},
        {"id": "tn1", **TN, "label": False}, {"id": "tn2", **TN, "label": "unsupported"},
    ])


def test_labels_json_reports_agreement_and_records_it(lexical_cli: None, tmp_path: Path) -> None:
    pairs, data = crafted(tmp_path), tmp_path / "data"
    result = judge_labels(pairs, data, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # observed 4/6, chance 0.5*0.5 + 0.5*0.5 = 0.5: kappa = (2/3 - 1/2) / (1/2) = 1/3; recall = specificity = 2/3
    assert report["confusion"] == {"tp": 2, "fp": 1, "fn": 1, "tn": 2}
    assert report["balanced_accuracy"] == pytest.approx(2 / 3, abs=1e-6)
    assert report["kappa"] == pytest.approx(1 / 3, abs=1e-6)
    assert (report["pairs"], report["supported"], report["unsupported"]) == (6, 3, 3)
    assert (report["judge"], report["fingerprint"]) == ("lexical", "lexical-threshold-0.6")
    assert report["pairs_file"] == str(pairs)
    assert report["pairs_sha256"] == hashlib.sha256(pairs.read_bytes()).hexdigest()
    recorded = json.loads((data / AGREEMENT_FILE).read_text())["lexical@lexical-threshold-0.6"]
    assert recorded["pairs"] == 6 and recorded["kappa"] == pytest.approx(1 / 3, abs=1e-6)
    assert recorded["pairs_sha256"] == report["pairs_sha256"] and report["recorded"] == str(data / AGREEMENT_FILE)


def test_labels_table_report(lexical_cli: None, tmp_path: Path) -> None:
    result = judge_labels(crafted(tmp_path), tmp_path / "data")
    assert result.exit_code == 0, result.output
    for text in ("6 pairs (3 supported, 3 unsupported)", "2 (TP)", "balanced_accuracy", "0.6667", "0.3333",
                 "best threshold", "0.05 *", f"recorded in {tmp_path / 'data' / AGREEMENT_FILE}"):
        assert text in result.stdout


def test_bad_label_lines_are_named_and_the_others_scored(lexical_cli: None, tmp_path: Path) -> None:
    pairs = write_pairs(tmp_path / "pairs.jsonl", [
        {"id": 1, **TP, "label": True}, {"id": 2, **TN, "label": "maybe"}, {"id": 3, **TN},
        {"id": 4, **TN, "label": False},
    ])
    result = judge_labels(pairs, tmp_path / "data", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["confusion"] == {"tp": 1, "fp": 0, "fn": 0, "tn": 1}
    assert result.stderr.splitlines() == [
        f"skipped {pairs}:2: 'label' must be true/false, \"supported\"/\"unsupported\" or 1/0, got \"maybe\"",
        f"skipped {pairs}:3: field 'label' is required with --labels",
        f"error: {pairs}: 2 lines skipped (see above); the others ran",
    ]


def test_a_file_without_labels_is_a_usage_error(lexical_cli: None, tmp_path: Path) -> None:
    pairs = write_pairs(tmp_path / "pairs.jsonl", [{"id": 1, **TP}, {"id": 2, **TN}])
    result = judge_labels(pairs, tmp_path / "data")
    assert result.exit_code == 2 and f"{pairs}: no line carries a 'label' field" in result.output
    plain = CliRunner().invoke(main, ["judge", "--pairs", str(pairs), "--data-dir", str(tmp_path / "data")])
    assert plain.exit_code == 0 and [json.loads(line)["id"] for line in plain.stdout.splitlines()] == [1, 2]


def test_a_second_run_replaces_its_record_and_a_corrupt_file_is_replaced(lexical_cli: None, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / AGREEMENT_FILE).write_text("not json")
    first = judge_labels(crafted(tmp_path), data, "--json")
    assert first.exit_code == 0 and first.stderr == f"warning: {data / AGREEMENT_FILE} could not be read; it is replaced\n"
    records = json.loads((data / AGREEMENT_FILE).read_text())
    records["offline@all-MiniLM-L6-v2:0123456789ab"] = {"pairs": 99}
    (data / AGREEMENT_FILE).write_text(json.dumps(records))
    smaller = write_pairs(tmp_path / "small.jsonl", [{"id": 1, **TP, "label": True}, {"id": 2, **TN, "label": 0}])
    second = judge_labels(smaller, data, "--json")
    assert second.exit_code == 0 and second.stderr == ""
    records = json.loads((data / AGREEMENT_FILE).read_text())
    assert records["offline@all-MiniLM-L6-v2:0123456789ab"] == {"pairs": 99}
    mine = records["lexical@lexical-threshold-0.6"]
    assert (mine["pairs"], mine["pairs_file"], mine["balanced_accuracy"]) == (2, str(smaller), 1.0)
