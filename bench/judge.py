"""Judge benchmark on SciFact train claims with SUPPORT evidence: positive pairs (claim, its evidence abstract)
against hard negatives (the highest-ranked non-gold abstract by BM25), in one run:

- naive baselines: the best-threshold maximum cosine between the claim and any abstract sentence (all-MiniLM-L6-v2),
  and the best-threshold token-overlap F1;
- the offline judge with its shipped calibration, on the odd-numbered claims (held out from fitting) and on all,
  and how often it ranks a held-out claim's gold abstract above its hard negative;
- with ``--fit``: refit the calibration on the even-numbered claims and print the new constants;
- with ``--nli PATH``: the same pairs through a local NLI / cross-encoder model.

    python bench/judge.py [--fit] [--nli PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "scifact"

from rag.embedding import SentenceTransformerEmbedder  # noqa: E402
from rag.judge.offline import CALIBRATION_FILE, FEATURES, Calibration, OfflineJudge  # noqa: E402
from rag.text.terms import content_terms  # noqa: E402

Pair = tuple[int, str, str, int]  # claim id, claim, passage, label


def build_pairs(training_negatives: int = 1) -> list[Pair]:
    """Positive and hard-negative pairs. Even-numbered claims (the fitting half) may get ``training_negatives``
    hard negatives each (the next-ranked non-gold abstracts); odd-numbered claims always get exactly one."""
    import bm25s

    corpus = {}
    for line in (DATA / "corpus.jsonl").open():
        record = json.loads(line)
        corpus[record["doc_id"]] = f"{record['title']}. " + " ".join(record["abstract"])
    ids = list(corpus)
    index = bm25s.BM25()
    index.index(bm25s.tokenize([corpus[i] for i in ids], stopwords="en", show_progress=False), show_progress=False)
    pairs: list[Pair] = []
    for line in (DATA / "claims_train.jsonl").open():
        claim = json.loads(line)
        gold = {int(d) for d, evidence in claim["evidence"].items() if any(e["label"] == "SUPPORT" for e in evidence)}
        if not gold:
            continue
        found, _ = index.retrieve(bm25s.tokenize([claim["claim"]], stopwords="en", show_progress=False), k=20,
                                  show_progress=False)
        negatives = [ids[j] for j in found[0] if ids[j] not in {int(d) for d in claim["evidence"]}]
        for doc_id in sorted(gold):
            pairs.append((claim["id"], claim["claim"], corpus[doc_id], 1))
        for negative in negatives[: training_negatives if claim["id"] % 2 == 0 else 1]:
            pairs.append((claim["id"], claim["claim"], corpus[negative], 0))
    return pairs


def _first_negative(pairs: list[Pair]) -> np.ndarray:
    """Marks the first hard negative of every claim (the evaluation set has one per claim)."""
    seen: set[int] = set()
    marks = []
    for claim_id, _, _, label in pairs:
        marks.append(label == 0 and claim_id not in seen)
        if label == 0:
            seen.add(claim_id)
    return np.array(marks)


def balanced_accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    positives, negatives = labels == 1, labels == 0
    return float((predicted[positives].mean() + (1 - predicted[negatives]).mean()) / 2)


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    candidates = np.unique(scores)
    accuracies = [balanced_accuracy(labels, (scores >= t).astype(float)) for t in candidates]
    best = int(np.argmax(accuracies))
    return float(candidates[best]), float(accuracies[best])


def confusion(labels: np.ndarray, predicted: np.ndarray) -> str:
    tp = int(((labels == 1) & (predicted == 1)).sum())
    fn = int(((labels == 1) & (predicted == 0)).sum())
    fp = int(((labels == 0) & (predicted == 1)).sum())
    tn = int(((labels == 0) & (predicted == 0)).sum())
    return f"TP {tp}  FN {fn}  FP {fp}  TN {tn}"


def token_f1(claim: str, passage: str) -> float:
    a, b = content_terms(claim), content_terms(passage)
    overlap = len(a & b)
    if not overlap:
        return 0.0
    precision, recall = overlap / len(b), overlap / len(a)
    return 2 * precision * recall / (precision + recall)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 50) -> tuple[float, np.ndarray]:
    """Newton-Raphson logistic regression with a small L2 penalty (no intercept penalty)."""
    design = np.hstack([np.ones((len(x), 1)), x])
    weights = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * l2
    penalty[0, 0] = 0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-design @ weights))
        gradient = design.T @ (p - y) + penalty @ weights
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        weights -= np.linalg.solve(hessian, gradient)
    return float(weights[0]), weights[1:]


def ranked_first(pairs: list[Pair], scores: np.ndarray, mask: np.ndarray) -> float:
    """The share of claims whose best gold pair scores above their (first) hard negative."""
    best: dict[int, list[float]] = {}
    for (claim_id, _, _, label), score, keep in zip(pairs, scores, mask, strict=True):
        if keep:
            entry = best.setdefault(claim_id, [-np.inf, -np.inf])
            entry[label] = max(entry[label], float(score))
    return float(np.mean([gold > negative for negative, gold in best.values()]))


def report(name: str, labels: np.ndarray, predicted: np.ndarray) -> None:
    print(f"  {name:52} balanced accuracy {balanced_accuracy(labels, predicted):.3f}   {confusion(labels, predicted)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fit", action="store_true", help="refit the calibration on the even-numbered claims")
    parser.add_argument("--nli", type=Path, default=None, help="a local NLI / cross-encoder model folder")
    parser.add_argument("--training-negatives", type=int, default=1,
                        help="hard negatives per fitting claim (held-out claims always have one)")
    args = parser.parse_args()
    pairs = build_pairs(args.training_negatives if args.fit else 1)
    labels = np.array([p[3] for p in pairs], dtype=float)
    held_out = np.array([p[0] % 2 == 1 for p in pairs])
    print(f"pairs: {len(pairs)} ({int(labels.sum())} positive, {int(len(labels) - labels.sum())} hard negatives); "
          f"held-out (odd claim ids): {int(held_out.sum())}")
    evaluation = held_out | np.array([p[3] == 1 for p in pairs]) | _first_negative(pairs)

    embedder = SentenceTransformerEmbedder()
    judge = OfflineJudge(embedder, Calibration.load() if CALIBRATION_FILE.exists() and not args.fit else
                         Calibration((0.0,) * len(FEATURES), (1.0,) * len(FEATURES), 0.0, (0.0,) * len(FEATURES), 0.5),
                         cache_texts=10**6)
    features = np.array(judge.features_many([(claim, passage) for _, claim, passage, _ in pairs]))

    cosine = features[:, FEATURES.index("max_sentence_cosine")]
    f1 = np.array([token_f1(claim, passage) for _, claim, passage, _ in pairs])
    print("\nbaselines (best threshold chosen on the same pairs: optimistic):")
    for name, scores in (("naive max cosine (claim vs any sentence)", cosine), ("naive token-overlap F1", f1)):
        threshold, _ = best_threshold(scores[evaluation], labels[evaluation])
        report(f"{name}, t={threshold:.3f}", labels[evaluation], (scores[evaluation] >= threshold).astype(float))

    if args.fit:
        train = ~held_out
        mean, scale = features[train].mean(axis=0), features[train].std(axis=0) + 1e-9
        bias, weights = fit_logistic((features[train] - mean) / scale, labels[train])
        fitted = Calibration(tuple(float(x) for x in mean), tuple(float(x) for x in scale), bias,
                             tuple(float(w) for w in weights), 0.5)
        scores = np.array([fitted.score(row) for row in features[train]])
        threshold, _ = best_threshold(scores, labels[train])
        fitted = Calibration(fitted.mean, fitted.scale, bias, fitted.weights, threshold)
        fitted.save(CALIBRATION_FILE, f"bench/judge.py --fit: logistic regression on {int(train.sum())} SciFact "
                                      "train pairs (even claim ids), threshold maximising balanced accuracy there")
        print(f"\nfitted on {int(train.sum())} pairs (even claim ids), written to {CALIBRATION_FILE.name}: "
              + ", ".join(f"{n} {w:+.2f}" for n, w in zip(FEATURES, fitted.weights, strict=True))
              + f"; threshold {threshold:.3f}")
        judge = judge.with_calibration(fitted)

    judgments = judge.judge_many([(claim, passage) for _, claim, passage, _ in pairs])
    predicted = np.array([float(j.supported) for j in judgments])
    print("\noffline judge (shipped calibration unless --fit):")
    report("held-out pairs (odd claim ids)", labels[held_out], predicted[held_out])
    report("all claims, one hard negative each", labels[evaluation], predicted[evaluation])
    scores = np.array([j.score for j in judgments])
    print(f"  ranking, held-out claims: the gold abstract scores above the hard negative for "
          f"{ranked_first(pairs, scores, held_out & evaluation):.1%} of claims (max cosine alone: "
          f"{ranked_first(pairs, cosine, held_out & evaluation):.1%})")
    if args.nli is not None:
        from rag.judge.nli import NliJudge

        nli = NliJudge(args.nli).judge_many([(claim, passage) for _, claim, passage, _ in pairs])
        report(f"NLI judge ({args.nli.name})", labels, np.array([float(j.supported) for j in nli]))




if __name__ == "__main__":
    main()
