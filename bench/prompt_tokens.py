"""What a model reads: the answer prompt's tokens with every retrieved passage whole against only the sentences
that address the question (``RAG_GENERATION__EXCERPTS``), over the clinician set's questions on the starter corpus.
No model is called (the prompt is built and counted with tiktoken).

    python bench/prompt_tokens.py [--cache bench/.cache]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.cases import load_cases  # noqa: E402
from rag.answer.budget import count_tokens, fit_sources  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.factory import Components  # noqa: E402
from rag.generate.prompting import Prompts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    args = parser.parse_args()
    built = Components(Settings(data_dir=args.cache / "clinician-starter"))
    built.ingestor().run([ROOT / "corpus"], prune=True)
    retriever, relevance, prompts = built.retriever(), built.relevance(), Prompts()
    cases, _ = load_cases(ROOT / "evals" / "datasets" / "clinician.jsonl")
    whole, cut, kept, total = [], [], 0, 0
    for case in cases:
        if case.conversation:
            continue
        found = retriever.search_sections(case.question)
        hits = [*retriever.with_findings(found.guidelines), *retriever.with_findings(found.studies)]
        sources, _ = fit_sources(hits, 6000, "cl100k_base")
        shown = relevance.excerpts(case.question, sources)
        for selection, sink in ((sources, whole), (shown, cut)):
            prompt = prompts.answer(case.question, selection, "clinician")
            sink.append(count_tokens(prompt.system + prompt.user, "cl100k_base"))
        kept += len(shown)
        total += len(sources)
    built.close()
    share = statistics.median(c / w for c, w in zip(cut, whole, strict=True))
    print(f"{len(whole)} questions: prompt tokens median {statistics.median(whole):.0f} whole passages -> "
          f"{statistics.median(cut):.0f} excerpts ({share:.0%} of the tokens); sources shown {kept}/{total}")


if __name__ == "__main__":
    main()
