"""Candidate (answer sentence, passage) pairs for measuring the support judge (evals/datasets/judge_pairs.jsonl).

The sentences are our system's real answers over the starter corpus (corpus/), drawn reproducibly (fixed seed):

- extractive: every question of evals/datasets/starter.jsonl and clinician.jsonl (follow-ups left out) is answered
  offline over --data-dir (corpus/ is ingested there first: incremental, quick when done). A sampled sentence is
  paired with the passage its [n] cites ("cited": the reference's chunks, joined with blank lines, as
  evals/wiring.py passage_resolver resolves them), or with another passage retrieved for the same question
  ("other-retrieved": one of the three sharing most content words with the sentence, a near miss on the topic);
  at most one sentence per question in each of the two samples.
- model: the raw answers of a real model in --generations (lines with "raw" and "answer", as bench/generative.py
  --out logs them; lines whose question is not one of the two datasets', e.g. PubMedQA, are skipped), read BEFORE
  grounding. Each sentence of a JSON item is paired with the sources the item cites (in Markdown, a sentence with
  its own [n]). Source numbers are the prompt's, recovered by replaying the generation through the answer service
  over --data-dir (retrieval is deterministic; a replayed answer whose references differ from the logged one is
  reported and skipped). Sources of one document are joined into one passage; a sentence citing several documents
  gets one pair per document. At most --model-per-answer sentences of one answer are drawn, and a sample of the
  drawn sentences is also paired with another retrieved passage, as above.

Titles, fragments without a full stop and "no evidence" statements are not claims and are left out. Passages are
the full chunk texts of the index (not the excerpts a model is shown). The output has no labels: they were added
afterwards by reading each passage (the rule is in evals/README.md, "Labelled judge pairs"). Needs no model: the
generations are replayed.

    python bench/judge_pairs.py --data-dir DIR --generations FILE [--generations FILE2] --out candidates.jsonl
        [--seed 25] [--extractive-cited 35] [--extractive-other 85] [--model-per-answer 8] [--model-other 25]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.cases import load_cases  # noqa: E402
from rag.answer.lexical import answer_sentences, is_no_evidence  # noqa: E402
from rag.answer.models import Answer  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.contract import Source, citations_in, strip_citations  # noqa: E402
from rag.factory import Components  # noqa: E402
from rag.generate.json_answer import read_answer  # noqa: E402
from rag.generate.protocol import Generation, GenerationRequest  # noqa: E402
from rag.text.terms import content_terms  # noqa: E402

DATASETS = (ROOT / "evals" / "datasets" / "starter.jsonl", ROOT / "evals" / "datasets" / "clinician.jsonl")
Pair = dict[str, Any]


class Replayed:
    """A logged model generation, served again for its question (no model is called)."""

    name = "openai:replayed"
    is_model = True

    def __init__(self) -> None:
        self.raw, self.format = "", "json"

    def generate(self, request: GenerationRequest) -> Generation:
        return Generation(self.raw, self.format)  # type: ignore[arg-type]

    def stream(self, request: GenerationRequest) -> Iterator[str | Generation]:
        yield self.generate(request)

    def complete(self, prompt: Any) -> str:
        raise NotImplementedError("no conversations are replayed")


def ask(service: Any, question: str, backend: str) -> tuple[list[Source], Answer]:
    """The sources the generator was shown (numbered as in its prompt) and the answer."""
    sources: list[Source] = []
    answer = None
    for event in service.stream(question, backend=backend, deltas=False, store=False):
        if event.kind == "sources":
            sources = list(event.sources)
        elif event.kind == "answer":
            answer = event.answer
    assert answer is not None
    return sources, answer


def substantive(claim: str) -> bool:
    """A sentence that claims something: not a "no evidence" statement, and not a title or fragment (a sentence
    ends with a full stop)."""
    return not is_no_evidence(claim) and len(content_terms(claim)) >= 2 and claim.rstrip().endswith((".", "?", "!"))


def near_misses(claim: str, chunks: dict[str, tuple[str, str]], excluded: set[str], rng: random.Random) -> str | None:
    """One of the three retrieved chunks (not ``excluded``) sharing most content words with ``claim``."""
    terms = content_terms(claim)
    scored = sorted(((len(terms & content_terms(text)), cid) for cid, (_, text) in chunks.items()
                     if cid not in excluded), key=lambda s: (-s[0], s[1]))
    return rng.choice(scored[:3])[1] if scored else None


def pair(claim: str, chunk_ids: Sequence[str], chunks: dict[str, tuple[str, str]], origin: str, pairing: str,
         question: str) -> Pair:
    return {"claim": claim, "passage": "\n\n".join(chunks[c][1] for c in chunk_ids), "origin": origin,
            "pairing": pairing, "question": question, "doc_id": chunks[chunk_ids[0]][0]}


def extractive_pairs(components: Components, rng: random.Random, cited_k: int, other_k: int) -> list[Pair]:
    service = components.answers()
    questions = [c.question for path in DATASETS for c in load_cases(path)[0] if not c.conversation]
    answered = []  # (question, retrieved chunks, [(claim, chunk ids of the cited reference)])
    for question in questions:
        sources, answer = ask(service, question, "extractive")
        cited = {r.n: list(dict.fromkeys(q.chunk_id for q in r.quotes)) for r in answer.references}
        stored = components.index.chunks([s.hit.chunk_id for s in sources]
                                                 + [c for ids in cited.values() for c in ids])
        chunks = {cid: (chunk.doc_id, chunk.text) for cid, chunk in stored.items()}
        sentences = [(claim, cited[ns[0]]) for section in answer.sections for s in answer_sentences(section.text)
                     if len(ns := citations_in(s)) == 1 and ns[0] in cited
                     and substantive(claim := strip_citations(s).strip())]
        if sentences:
            answered.append((question, chunks, sentences))
    pairs: list[Pair] = []
    for pairing, k in (("cited", cited_k), ("other-retrieved", other_k)):
        used: set[str] = set()
        for question, chunks, sentences in rng.sample(answered, len(answered)):
            if sum(p["pairing"] == pairing for p in pairs) >= k:
                break
            fresh = [s for s in sentences if s[0] not in used]
            if not fresh:
                continue
            claim, chunk_ids = rng.choice(fresh)
            if pairing == "other-retrieved":
                other = near_misses(claim, chunks, set(chunk_ids), rng)
                if other is None:
                    continue
                chunk_ids = [other]
            used.add(claim)
            pairs.append(pair(claim, chunk_ids, chunks, "extractive", pairing, question))
    return pairs


def model_sentences(raw: str) -> list[tuple[str, list[int]]]:
    """The model's sentences with the source numbers it gave them: in JSON, each sentence of an item gets the item's
    "sources"; in Markdown (an endpoint that ignored the schema), the [n] of the sentence. Limitations are left out
    (they cite nothing)."""
    data = read_answer(raw)
    if data is not None:
        return [(sentence, [n for n in item.get("sources") or [] if isinstance(n, int)])
                for section in ("guidelines", "research") for item in data.get(section) or []
                if isinstance(item, dict) and isinstance(item.get("sentence"), str)
                for sentence in answer_sentences(item["sentence"])]
    parts = re.split(r"^#+[ \t]*(.*)$", raw, flags=re.M)
    return [(sentence, citations_in(sentence)) for heading, body in zip(parts[1::2], parts[2::2], strict=True)
            if "limitation" not in heading.lower() for sentence in answer_sentences(body)]


def model_pairs(components: Components, generations: Sequence[Path], rng: random.Random, per_answer: int,
                other_k: int) -> list[Pair]:
    replayed = Replayed()
    service = components.answers(llm=replayed)
    questions = {c.question for path in DATASETS for c in load_cases(path)[0] if not c.conversation}
    cited_pairs: list[Pair] = []
    for_other = []  # (claim, question, retrieved chunks, cited chunk ids)
    for path in generations:
        for line in path.read_text().splitlines():
            logged = json.loads(line)
            question, raw = logged["answer"]["question"], logged.get("raw") or ""
            if question not in questions or not raw:
                continue
            replayed.raw = raw
            replayed.format = logged.get("format") or ("json" if raw.lstrip().startswith(("{", "`")) else "markdown")
            sources, answer = ask(service, question, "openai")
            if ([(r.doc_id, [q.chunk_id for q in r.quotes]) for r in answer.references]
                    != [(r["doc_id"], [q["chunk_id"] for q in r["quotes"]]) for r in logged["answer"]["references"]]):
                print(f"skipped (the replayed answer differs from the log): {question}", file=sys.stderr)
                continue
            stored = components.index.chunks([s.hit.chunk_id for s in sources])
            chunks = {cid: (chunk.doc_id, chunk.text) for cid, chunk in stored.items()}
            by_n = {s.n: s.hit.chunk_id for s in sources}
            sentences = [(claim, cited) for sentence, numbers in model_sentences(raw)
                         if (cited := [by_n[n] for n in dict.fromkeys(numbers) if n in by_n])
                         and substantive(claim := strip_citations(sentence).strip())]
            if len(sentences) > per_answer:  # a long answer would crowd out the others
                sentences = [sentences[i] for i in sorted(rng.sample(range(len(sentences)), per_answer))]
            for claim, cited in sentences:
                by_doc: dict[str, list[str]] = {}
                for cid in cited:
                    by_doc.setdefault(chunks[cid][0], []).append(cid)
                cited_pairs.extend(pair(claim, ids, chunks, "model", "cited", question) for ids in by_doc.values())
                for_other.append((claim, question, chunks, set(cited)))
    other_pairs: list[Pair] = []
    seen: set[str] = set()
    for claim, question, chunks, cited_ids in rng.sample(for_other, len(for_other)):
        if len(other_pairs) >= other_k or claim in seen:
            continue
        other = near_misses(claim, chunks, cited_ids, rng)
        if other is not None:
            seen.add(claim)
            other_pairs.append(pair(claim, [other], chunks, "model", "other-retrieved", question))
    return cited_pairs + other_pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="index of corpus/ (ingested first)")
    parser.add_argument("--generations", type=Path, action="append", default=[],
                        help="logged model generations (bench/generative.py --out format); repeatable")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--extractive-cited", type=int, default=35)
    parser.add_argument("--extractive-other", type=int, default=85)
    parser.add_argument("--model-per-answer", type=int, default=8, help="model sentences drawn from one answer at most")
    parser.add_argument("--model-other", type=int, default=25)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    generation = {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "replayed", "api_key": "none",
                  "output": "json"}
    components = Components(Settings(data_dir=args.data_dir, generation=generation))
    try:
        components.ingestor().run([ROOT / "corpus"], prune=True)
        rng = random.Random(args.seed)
        pairs = (extractive_pairs(components, rng, args.extractive_cited, args.extractive_other)
                 + model_pairs(components, args.generations, rng, args.model_per_answer, args.model_other))
    finally:
        components.close()
    seen: set[tuple[str, str]] = set()
    with args.out.open("w") as out:
        for candidate in pairs:
            if (candidate["claim"], candidate["passage"]) in seen:
                continue
            seen.add((candidate["claim"], candidate["passage"]))
            out.write(json.dumps({"id": f"jp-{len(seen):04d}", **candidate}, ensure_ascii=False) + "\n")
    print(f"{len(seen)} candidate pairs: {args.out}")


if __name__ == "__main__":
    main()
