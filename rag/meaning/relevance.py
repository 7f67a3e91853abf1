"""Whether passages and sentences address a question, by meaning: the packaged encoder's cosine between the
question and each quotable sentence, blended with the cosine of the passage it sits in (which gives a sentence such
as "The treated side improved more" its subject). A publication addresses the question when its best sentence
scores at least ``MeaningSettings.addresses`` and, unless it scores ``clearly`` (it then addresses the question
whatever words it uses: "doctor" and "physician", "blood sugar" and "glucose"), it holds one of the question's
distinctive words (rag.text.topic). Measured on the clinician set's dev half, that word rule in the band between the
two thresholds halves the off-corpus questions answered with unrelated quotes ("Do SGLT2 inhibitors help heart
failure?" against diabetes trials); below ``addresses`` no shared word makes a passage quotable. When the question
names a specialist term (rag.text.specialist: a drug, a procedure) that no retrieved passage names, only the
publications naming another of its terms or one of its acronyms address it, whatever their score: the encoder reads
"latanoprost" as word pieces and scores glaucoma screening as if it answered "latanoprost or timolol first?". The
composer quotes by this judgment, abstains by it, and grounding holds a model's sentences to the same publications.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import pairwise

import numpy as np

from rag.config import MeaningSettings
from rag.contract import Source
from rag.meaning.vectors import SentenceVectors, Vectors
from rag.text.sentences import quotable_sentences, sentence_spans
from rag.text.specialist import acronyms, specialist_terms
from rag.text.topic import TermWeights, Topic, question_topic, stem, stems, topic_words

logger = logging.getLogger(__name__)
QueryEncoder = Callable[[str], Vectors]
"""The question's unit vector (the embedder's ``embed_query``)."""
SENTENCE_MARGIN = 0.10
"""A sentence scoring more than this below ``addresses`` is not quoted or shown, even from a publication that
addresses the question."""
_RECENT_JUDGMENTS = 16
WORD_MATCH = 0.7
"""Two words this close as words on their own mean the same for the topic check (the packaged encoder). Chosen on the
clinician dev half: at 0.5 single-word cosines are loose ("failure" and "loss" 0.54, "hospitalisation" and
"clinician" 0.54) and off-corpus questions were answered again; at 0.7 required facts 68 -> 71%, gold cited
88 -> 91%, off-corpus abstention unchanged (50%)."""
SPECIALIST_MATCH = 0.6
"""Two rare words this close as words on their own name the same thing ("postnatal" and "postpartum" 0.62,
"hypoglycaemia" and "hypoglycemia" 0.79; "glucagon" and "insulin" 0.25, "mastitis" and "lactational" 0.41): lower
than ``WORD_MATCH``, as the encoder reads a rare word as pieces and its synonyms score lower than common words'."""
_MIN_PREFIX_SHARED = 4
_SAME_STEM = 6
REST_MATCH = 0.3
"""Two words close as vectors (``SPECIALIST_MATCH``) that share their first ``_MIN_PREFIX_SHARED`` letters name the
same thing only when what follows is this close too (rag.meaning ``_not_by_prefix``)."""
_MIN_CONTAINED = 5
_MIN_PREFIX = 3
_MIN_MISSPELT = 7
_SAME_START = 2
_SPELLING = 0.9
IDENTIFIER_MARGIN = 0.25
"""A publication scoring up to this far below ``addresses`` still addresses a question that names an identifier
(a word of letters and digits: MISEV2023, HbA1c) its passages hold: the encoder reads such a word as noise ("What did
MISEV2023 add compared with the 2018 version?" scores 0.23 against the MISEV2023 guideline's "MISEV2023 adds a
section on studying EVs in vivo")."""
_WORD_WITH_HYPHENS = re.compile(r"[A-Za-z0-9]++(?:-[A-Za-z0-9]++)*+")
_MIN_IDENTIFIER = 5
"""A word of this many letters inside another ("needling" in "microneedling") is held by it."""
EVIDENCE_LIMITATION = ("The evidence is limited: the studies were small, few, short, unblinded or at risk of bias.")
"""What a limitation of the evidence says, as a sentence: a model's "limitation" closer to the question than to this
states a finding ("There are no FDA-approved exosome products" 0.70 to a question on approval, 0.21 to this; "The
trials were small and not blinded" 0.08 and 0.50)."""
PassageVectors = Callable[[list[str]], dict[str, Vectors]]
"""The stored vectors of passages, by chunk id (the vector store's)."""


@dataclass(frozen=True)
class FollowUp:
    """A follow-up's own ask ("How many patients did the review collect?") and the publications the previous
    answer cited (``earlier``): one of those addresses the follow-up when it addresses the ask alone, by meaning, since
    the earlier turn already tied it to the topic ("the review" is the review cited before, whatever words the
    condensed question carries)."""

    ask: str
    earlier: frozenset[str]


@dataclass(frozen=True)
class ScoredSentence:
    """A quotable sentence of a passage: its position among the passage's units, its text, its cosine with the
    question and its score (blended with the passage's cosine)."""

    position: int
    text: str
    cosine: float
    score: float


@dataclass(frozen=True)
class ScoredPassage:
    """A passage's cosine with the question and its quotable sentences, scored."""

    cosine: float
    sentences: tuple[ScoredSentence, ...]

    @property
    def best(self) -> float:
        """The score of its best sentence (its own cosine when it has no quotable sentence)."""
        return max((s.score for s in self.sentences), default=self.cosine)


@dataclass(frozen=True)
class Publication:
    """Whether a publication addresses the question: the score of its best sentence among the given passages, and
    whether one of its passages holds the question's topic words (consulted only below ``clearly``)."""

    score: float
    names_topic: bool
    addresses: bool
    on_ask: float | None = None
    """In a follow-up, for a publication cited before, the score of its best sentence on the follow-up's own ask
    (``FollowUp``); None otherwise."""

    @property
    def best(self) -> float:
        """Its better score: on the question, or on a follow-up's own ask."""
        return self.score if self.on_ask is None else max(self.score, self.on_ask)


@dataclass(frozen=True)
class Judged:
    """The passages scored (in the order given) and each publication's judgment, by document id."""

    passages: list[ScoredPassage]
    publications: dict[str, Publication]
    unnamed: frozenset[str] = frozenset()
    """The question's specialist terms that no passage names (rag.text.specialist)."""

    def addressing(self) -> set[str]:
        """The ids of the publications that address the question."""
        return {doc_id for doc_id, publication in self.publications.items() if publication.addresses}


class Relevance:
    """Scores passages and sentences against a question (see the module docstring); thread-safe. ``term_weights``
    (the index's IDF) give the question's distinctive words, consulted for a publication that addresses the question
    without clearly doing so."""

    def __init__(self, vectors: SentenceVectors, query: QueryEncoder, settings: MeaningSettings,
                 term_weights: TermWeights | None = None, passage_vectors: PassageVectors | None = None) -> None:
        self._vectors = vectors
        self._query = query
        self._settings = settings
        self._term_weights = term_weights
        self._passage_vectors = passage_vectors
        self._recent: OrderedDict[tuple[object, ...], Judged] = OrderedDict()
        self._lock = threading.Lock()
        self._evidence_limitation: Vectors | None = None  # EVIDENCE_LIMITATION's vector, encoded on first use

    def judge_sources(self, question: str, sources: Sequence[Source], follow_up: FollowUp | None = None) -> Judged:
        """:meth:`judge` on an answer's numbered sources, with their passages' stored vectors; in a ``follow_up``,
        the publications cited before are also judged on the follow-up's own ask, and each keeps the better of the
        two judgments (sentence by sentence). The last few judgments are remembered: an answer asks for the same one
        when it shows a model excerpts, composes, grounds and appraises."""
        key = (question, follow_up, tuple((s.n, s.hit.chunk_id, s.text) for s in sources))
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
        stored = self._passage_vectors([s.hit.chunk_id for s in sources]) if self._passage_vectors and sources else {}
        if self._passage_vectors and (missing := sorted({s.hit.chunk_id for s in sources} - stored.keys())):
            # a sentence's score is 0.4 its passage's cosine: without it, a publication may fall below the floor
            logger.warning("no stored vector for %d of %d passages (first: %s); their sentences are judged without "
                           "their passage", len(missing), len(sources), missing[0])
        passages = [(s.hit.doc_id, s.text, stored.get(s.hit.chunk_id)) for s in sources]
        judged = self.judge(question, passages)
        if follow_up is not None and any(doc_id in follow_up.earlier for doc_id, _, _ in passages):
            judged = self._with_ask(judged, follow_up, passages, [s.hit.title for s in sources])  # rescues only
        with self._lock:
            self._recent[key] = judged
            while len(self._recent) > _RECENT_JUDGMENTS:
                self._recent.popitem(last=False)
        return judged

    def _with_ask(self, judged: Judged, follow_up: FollowUp,
                  passages: Sequence[tuple[str, str, Vectors | None]], titles: Sequence[str]) -> Judged:
        """``judged`` with each publication cited before that does not address the condensed question re-scored on
        the follow-up's ask put to it by name ("How many patients did the review collect? (Granulomas after
        microneedling: a systematic review)"): a sentence keeps its better score, and the publication addresses the
        follow-up when its best sentence scores at least ``addresses`` so (no topic words asked of it: the earlier
        turn chose it for the topic). It keeps its score on the condensed question, and a publication that addresses
        that question keeps its judgment, so that what was cited before does not crowd out what the follow-up asks
        for anew ("another classification", "those results" of one meta-analysis among those cited)."""
        earlier = [i for i, (doc_id, _, _) in enumerate(passages) if doc_id in follow_up.earlier
                   and not judged.publications[doc_id].addresses]
        asks = {passages[i][0]: f"{follow_up.ask.rstrip()} ({titles[i]})" for i in earlier}
        vectors = {doc_id: self.question_vector(ask) for doc_id, ask in asks.items()}
        scored = list(judged.passages)
        for i in earlier:
            asked = self.passages(vectors[passages[i][0]], [passages[i][1:]])[0]
            passage = scored[i]
            sentences = tuple(s if s.score >= a.score else a for s, a in zip(passage.sentences, asked.sentences,
                                                                             strict=True))
            scored[i] = ScoredPassage(max(passage.cosine, asked.cosine), sentences)
        publications = dict(judged.publications)
        for doc_id in asks:
            best = max(scored[i].best for i in earlier if passages[i][0] == doc_id)
            before = publications[doc_id]
            publications[doc_id] = Publication(before.score, before.names_topic, best >= self._settings.addresses,
                                               best)
        return Judged(scored, publications, judged.unnamed)

    def excerpts(self, question: str, sources: Sequence[Source], follow_up: FollowUp | None = None) -> list[Source]:
        """The sources of publications that address the question, each cut to its sentences that do (in reading
        order; its best one at least): what a model is shown, so that it has less to misread and fewer tokens to
        read. Numbers are kept, so citations still resolve to the whole passages."""
        judged = self.judge_sources(question, sources, follow_up)
        floor = self._settings.addresses - SENTENCE_MARGIN
        shown = []
        for source, passage in zip(sources, judged.passages, strict=True):
            if not judged.publications[source.hit.doc_id].addresses or not passage.sentences:
                continue
            best = max(passage.sentences, key=lambda s: s.score)
            kept = [s.text for s in passage.sentences if s.score >= floor or s is best]
            shown.append(source.model_copy(update={"text": " ".join(kept)}))
        return shown

    def judge(self, question: str, passages: Sequence[tuple[str, str, Vectors | None]]) -> Judged:
        """Each (document id, text, stored vector) passage scored, and each publication judged: it addresses the
        question when its best sentence scores at least ``addresses`` and, unless it scores ``clearly``, its
        passages hold the question's distinctive words. One judgment for the composer and for grounding."""
        scored = self.passages(self.question_vector(question), [(text, vector) for _, text, vector in passages])
        topic = question_topic(question, self._term_weights)
        best: dict[str, float] = {}
        for (doc_id, _, _), passage in zip(passages, scored, strict=True):
            best[doc_id] = max(best.get(doc_id, -1.0), passage.best)
        names: dict[str, bool] = {}
        identifiers = _identifiers(question)
        floor = self._settings.addresses - IDENTIFIER_MARGIN
        for doc_id, text, _ in passages:
            if identifiers and not names.get(doc_id) and floor <= best[doc_id] < self._settings.addresses:
                names[doc_id] = bool(identifiers & _identifiers(text))
            if names.get(doc_id) or not self._settings.addresses <= best[doc_id] < self._settings.clearly:
                continue
            held = stems(text) & topic.weights.keys()
            names[doc_id] = topic.addresses(held) or topic.addresses(held | self._held_by_meaning(
                question, topic, held, text))
        specialist, unnamed = self._naming_specialist_terms(question, passages)
        publications = {}
        for doc_id, score in best.items():
            named = names.get(doc_id, False)  # held the topic words in the band, or the identifier below it
            addresses = (named or score >= self._settings.clearly) and (specialist is None or doc_id in specialist)
            publications[doc_id] = Publication(score, named, addresses)
        return Judged(scored, publications, unnamed)

    def _naming_specialist_terms(self, question: str, passages: Sequence[tuple[str, str, Vectors | None]]
                                 ) -> tuple[set[str] | None, frozenset[str]]:
        """The question's specialist terms (rag.text.specialist) that no passage names, and, when there are any, the
        publications whose passages name one of its other specialist terms or one of its acronyms, of the asked
        sentence (the last ending on "?") when that sentence holds an unnamed term, else of the sentences that do: the
        case told before the ask ("central apneas ..., not OSA. Is adaptive servo-ventilation ok?") does not stand in
        for what is asked (None when every
        term is named somewhere: a publication lacking one may use a synonym the others do not, and the encoder's
        judgment stands). A term is named in letters, as part of a longer word or the start of one ("hypo" in
        "hypoglycaemia", "hep" in "hepatitis"), or by a word close to it as a word on its own
        (``SPECIALIST_MATCH``: "hypoglycemia" for "hypoglycaemia")."""
        required = sorted(specialist_terms(question))
        if not required:
            return None, frozenset()
        texts: dict[str, list[str]] = {}
        for doc_id, text, _ in passages:
            texts.setdefault(doc_id, []).append(text)
        words = {doc_id: topic_words(" ".join(parts)) for doc_id, parts in texts.items()}
        held = {doc_id: {term for term in required if _holds(term, found)} for doc_id, found in words.items()}
        candidates = sorted(set().union(*words.values()))
        if candidates and any(len(terms) < len(required) for terms in held.values()):
            vectors = self._vectors.get([*required, *candidates])
            close = vectors[: len(required)] @ vectors[len(required):].T >= SPECIALIST_MATCH
            for term, row in zip(required, close, strict=True):
                matched = self._not_by_prefix(term, {word for word, hit in zip(candidates, row, strict=True) if hit})
                for doc_id, found in words.items():
                    if found & matched:
                        held[doc_id].add(term)
        unnamed = frozenset(required) - set().union(*held.values())
        if not unnamed:
            return None, unnamed
        sentences = [question[start:end] for start, end in sentence_spans(question)]
        asked = [sentence for sentence in sentences if sentence.rstrip().endswith("?")][-1:]
        beside = [sentence for sentence in asked if unnamed & specialist_terms(sentence)] or \
            [sentence for sentence in sentences if unnamed & specialist_terms(sentence)] or [question]
        wanted = set().union(*map(specialist_terms, beside)) - unnamed - _modifiers(question, unnamed)
        named = set().union(*map(acronyms, beside))
        return {doc_id for doc_id, terms in held.items()
                if terms & wanted or named & acronyms(" ".join(texts[doc_id]))}, unnamed

    def _not_by_prefix(self, term: str, words: set[str]) -> set[str]:
        """The words close to ``term`` as vectors that are not close only by the start they share with it: the encoder
        reads a rare word as pieces, and a shared first piece makes two words close whatever follows ("hypoglossal"
        and "hypopnea" 0.77, "nephropathy" and "nephritis" 0.80). Words sharing their first ``_MIN_PREFIX_SHARED``
        letters, and not the six of a crude stem ("serology" and "serologic"), stay close when what follows is close
        too (``REST_MATCH``: "natal" and "partum" 0.34 for "postnatal" and "postpartum"; "glossal" and "pnea" 0.14)."""
        shared = {word: _shared_start(term, word) for word in words}
        kept = {word for word in words if not _MIN_PREFIX_SHARED <= shared[word] < _SAME_STEM}
        rests = {word: (term[shared[word]:], word[shared[word]:]) for word in words - kept
                 if term[shared[word]:] and word[shared[word]:]}
        if rests:
            pieces = sorted({piece for pair in rests.values() for piece in pair})
            vectors = dict(zip(pieces, self._vectors.get(pieces), strict=True))
            kept |= {word for word, (one, other) in rests.items()
                     if float(vectors[one] @ vectors[other]) >= REST_MATCH}
        return kept

    def _held_by_meaning(self, question: str, topic: Topic, held: Set[str], passage: str) -> set[str]:
        """The question's topic words a passage lacks in letters but holds in meaning: a word of the passage
        containing it ("needling" in "microneedling"), or close to it as a word on its own (cosine >= ``WORD_MATCH``:
        "sugar" and "glucose" 0.72, "kids" and "children" 0.88; "glucagon" and "insulin" 0.26 are not)."""
        wanted: dict[str, str] = {}
        for word in sorted(topic_words(question)):
            if stem(word) in topic.topical and stem(word) not in held:
                wanted.setdefault(word, stem(word))
        if not wanted:
            return set()
        words = sorted(topic_words(passage))
        found = {wanted[w] for w in wanted if len(w) >= _MIN_CONTAINED and any(w in v or v in w for v in words
                                                                                  if len(v) >= _MIN_CONTAINED)}
        rest = [w for w in wanted if wanted[w] not in found]
        if rest and words:
            vectors = self._vectors.get([*rest, *words])
            closest = (vectors[: len(rest)] @ vectors[len(rest):].T).max(axis=1)
            found |= {wanted[w] for w, score in zip(rest, closest, strict=True) if score >= WORD_MATCH}
        return found

    @property
    def settings(self) -> MeaningSettings:
        """The thresholds and weights in use."""
        return self._settings

    def question_vector(self, question: str) -> Vectors:
        """The question's unit vector."""
        return self._query(question)

    def passages(self, question: Vectors, passages: Sequence[tuple[str, Vectors | None]]) -> list[ScoredPassage]:
        """Each (text, stored vector) passage scored: its cosine with the question (0 without a vector) and its
        sentences', all sentence vectors fetched in one call."""
        units = [quotable_sentences(text) for text, _ in passages]
        texts = [text for found in units for _, text in found]
        matrix = self._vectors.get(texts) if texts else np.zeros((0, len(question)), dtype=np.float32)
        cosines = matrix @ question
        weight = self._settings.sentence_weight
        scored: list[ScoredPassage] = []
        offset = 0
        for (_, vector), found in zip(passages, units, strict=True):
            passage_cosine = float(np.dot(vector, question)) if vector is not None else 0.0
            sentences = []
            for position, text in found:
                cosine = float(cosines[offset])
                sentences.append(ScoredSentence(position, text, cosine,
                                                weight * cosine + (1 - weight) * passage_cosine))
                offset += 1
            scored.append(ScoredPassage(passage_cosine, tuple(sentences)))
        return scored

    def findings(self, question: str, sentences: Sequence[str]) -> list[bool]:
        """Whether each sentence (a model's limitations) states a finding on the question rather than a limitation
        of the evidence: it addresses the question by itself (cosine >= ``addresses``) and is closer to it than to
        :data:`EVIDENCE_LIMITATION`."""
        about_question = self.sentences(self.question_vector(question), sentences)
        if self._evidence_limitation is None:
            self._evidence_limitation = self.question_vector(EVIDENCE_LIMITATION)
        about_evidence = self.sentences(self._evidence_limitation, sentences)
        return [q >= self._settings.addresses and q > e for q, e in zip(about_question, about_evidence, strict=True)]

    def sentences(self, question: Vectors, texts: Sequence[str]) -> list[float]:
        """The cosine of each text (e.g. a model's sentences) with the question."""
        if not texts:
            return []
        return [float(c) for c in self._vectors.get(list(texts)) @ question]


def _holds(term: str, words: Set[str]) -> bool:
    """Whether ``words`` hold ``term``: itself, a word containing it or contained in it (both ``_MIN_CONTAINED``
    letters or more), a word it begins (``_MIN_PREFIX`` letters or more: "hep" for "hepatitis"), or the word it
    misspells (both ``_MIN_MISSPELT`` letters or more, the same first letters, ``_SPELLING`` alike: "hypertention"
    for "hypertension", which the encoder puts 0.28 apart; "latanoprost" and "bimatoprost", 0.64, are two drugs)."""
    if term in words:
        return True
    return any((len(term) >= _MIN_CONTAINED and len(word) >= _MIN_CONTAINED and (term in word or word in term))
               or (len(term) >= _MIN_PREFIX and word.startswith(term)) or _misspells(term, word) for word in words)


def _modifiers(question: str, unnamed: Set[str]) -> set[str]:
    """The specialist terms written just before an unnamed one ("lactational" in "lactational mastitis"): they say
    which kind of the unnamed thing is asked about, and a source naming them ("lactation") need not name it."""
    words = [max(specialist_terms(word), default="") for word in question.split()]
    return {word for word, following in pairwise(words) if word and following in unnamed}


def _shared_start(one: str, other: str) -> int:
    """How many letters two words share at their start."""
    return next((i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), min(len(one), len(other)))


def _misspells(term: str, word: str) -> bool:
    return (len(term) >= _MIN_MISSPELT and len(word) >= _MIN_MISSPELT and term[:_SAME_START] == word[:_SAME_START]
            and SequenceMatcher(None, term, word).ratio() >= _SPELLING)


def _identifiers(text: str) -> set[str]:
    """The words of ``text`` that are identifiers: 5+ characters, letters and digits both (MISEV2023, HbA1c,
    COVID-19), lowercased."""
    return {word.lower() for word in _WORD_WITH_HYPHENS.findall(text) if len(word) >= _MIN_IDENTIFIER
            and any(c.isdigit() for c in word) and any(c.isalpha() for c in word)}
