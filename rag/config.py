"""Settings: one pydantic-settings class of small nested groups, read from ``RAG_*`` environment variables.

Nested fields use a double underscore: ``RAG_INGEST__MAX_FILE_MB=100``. The most common ones are top level:
``RAG_DATA_DIR``, ``RAG_CHROMA_URL``, ``RAG_API_KEY_HASHES`` and ``RAG_API_KEY_FILE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestSettings(_Group):
    max_file_mb: float = Field(25.0, gt=0, description="Sources larger than this are refused (a clear failure).")
    embed_batch_size: int = Field(64, ge=1, le=4096, description="Chunks per call to the embedding model.")
    write_batch_chunks: int = Field(512, ge=1, description="Chunks embedded together before they are stored.")
    max_pdf_pages: int = Field(2000, ge=1, description="PDFs with more pages are refused (work grows with pages, "
                               "not file size: 4,000 pages can share one content stream).")
    text_per_byte: int = Field(20, ge=1, description="A PDF may yield at most this many characters of text per byte "
                               "of file (and at least a million): a 322 KB PDF of 2,000 pages grew past 3 GB.")
    pdf_timeout_s: float = Field(60.0, gt=0, description="A PDF is parsed in a child process that is stopped after "
                                 "this long; the file is listed as failed and the ingest goes on.")
    pdf_memory_mb: int = Field(512, ge=256, description="Address space (MB) the PDF-parsing process may use.")


class ChunkSettings(_Group):
    max_tokens: int = Field(
        200, ge=32, le=512, description="Word pieces per chunk, title prefix included (the embedder reads 256)."
    )
    overlap_tokens: int = Field(40, ge=0, description="Word pieces of trailing sentences repeated in the next chunk.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkSettings:
        if self.overlap_tokens >= self.max_tokens // 2:
            raise ValueError("chunk.overlap_tokens must be less than half of chunk.max_tokens")
        return self


class EmbeddingSettings(_Group):
    model_path: Path | None = Field(
        None, description="A local sentence-transformers model folder; default: the packaged all-MiniLM-L6-v2."
    )
    device: str = Field("cpu", description="Torch device for the embedding model.")
    onnx_queries: bool = Field(
        True, description="Encode queries with ONNX Runtime (same vectors, 2-3x faster); passages stay on PyTorch."
    )


class StoreSettings(_Group):
    collection: str = Field("rag_chunks", min_length=3, description="Chroma collection name.")
    hnsw_ef_search: int = Field(
        400, ge=10, le=10_000, description="Chroma's HNSW search breadth (ef_search), set on the collection when it is "
        "opened. Chroma's default 100 found 97% of the exact 160 nearest chunks of the second corpus and returned a "
        "different set in about half the processes; 400 found 99.8%, the same in every process, at the same speed "
        "(docs/DECISIONS.md).")
    sync_seconds: float = Field(
        1.0, ge=0, description="Server mode: how often (at most) a process refreshes its catalog replica from the "
        "shared document records before reading."
    )
    conversation_retention_days: float = Field(
        30.0, ge=0, description="Conversations with no new turn for this many days are deleted (checked when a "
        "conversation starts, at most hourly, and by the API on a timer); questions may hold patient details. 0 "
        "keeps them forever."
    )
    conversation_purge_interval_s: float = Field(
        3600.0, gt=0, description="How often the API deletes expired conversations, whether or not any is started."
    )
    max_conversation_turns: int = Field(
        100, ge=1, description="A stored conversation takes at most this many turns (422 after that: start a new "
        "one); bounds what a follow-up reads and what GET /v1/conversations/{id} returns."
    )
    max_stored_turns_per_owner: int = Field(
        2000, ge=1, description="Turns one API key (or the anonymous loopback caller) may keep stored across its "
        "conversations; past it, questions that would store a turn get 429 until old ones expire or are deleted.")
    max_stored_mb_per_owner: float = Field(
        64.0, gt=0, description="Megabytes of stored turns (questions and answers) one API key may keep; 429 past "
        "it, as for MAX_STORED_TURNS_PER_OWNER.")
    chroma_auth_header: Literal["Authorization", "X-Chroma-Token"] = Field(
        "Authorization", description="Server mode: the header that carries RAG_CHROMA_AUTH_TOKEN (Authorization: "
        "Bearer <token>, or X-Chroma-Token: <token>), as the Chroma server is configured to read it."
    )
    chroma_ca_file: Path | None = Field(
        None, description="Server mode over https: a CA bundle that signed the Chroma server's certificate (default: "
        "the system's trusted CAs). Certificates are always verified."
    )
    min_free_mb: float = Field(
        100.0, ge=0, description="Writes are refused, with nothing changed, when the data dir's file system would "
        "keep less free space than this (a full disk mid-write can leave embedded Chroma stuck until a restart)."
    )


class RetrievalSettings(_Group):
    default_k: int = Field(8, ge=1, le=100, description="Hits returned when k is not given.")
    max_k: int = Field(100, ge=1, le=1000, description="Largest k a caller may ask for.")
    max_query_chars: int = Field(2000, ge=10, description="Longer queries are refused.")
    guideline_k: int = Field(5, ge=0, le=100, description="Passages retrieved for 'From the Guidelines'.")
    study_k: int = Field(8, ge=0, le=100, description="Passages retrieved for 'From the Research'.")
    candidates: int = Field(100, ge=1, le=2000, description="Candidates each retriever (dense, BM25) contributes.")
    rrf_k: float = Field(60.0, gt=0, description="Reciprocal rank fusion constant: score = sum w / (rrf_k + rank).")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in the fusion.")
    lexical_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in the fusion.")
    lexical_max_df: float = Field(
        0.1, gt=0, le=1, description="On large indexes BM25 ignores query terms found in more than this share of "
        "passages (1: never)."
    )
    lexical_prune_from: int = Field(
        10_000, ge=0, description="Index size (passages) from which lexical_max_df and lexical_max_postings apply; "
        "below it BM25 is exact."
    )
    lexical_max_postings: int = Field(
        10_000, ge=0, description="On large indexes BM25 keeps the rarest query terms while their passages add up to "
        "at most this many (the rarest term always stays; 0: no cap), so its cost stops growing with the index."
    )
    max_chunks_per_doc: int = Field(2, ge=1, description="At most this many passages of one document per result list.")
    near_duplicate: float = Field(
        0.8, gt=0, le=1, description="Drop a passage whose word-trigram Jaccard with a kept one reaches this."
    )
    tie_tolerance: float = Field(
        0.005, ge=0, lt=1, description="Scores within this relative distance of a group's best are ties."
    )
    tie_breakers: tuple[Literal["evidence", "recency"], ...] = Field(
        ("evidence", "recency"), description="Order of ties: stronger evidence level first, then newer."
    )
    reranker_path: Path | None = Field(None, description="Local cross-encoder model folder; unset: no reranking.")
    rerank_depth: int = Field(30, ge=1, le=500, description="Fused candidates the reranker re-scores.")


class GenerationSettings(_Group):
    backend: Literal["extractive", "openai"] = Field(
        "extractive", description="extractive: offline, quotes the sources; openai: any OpenAI-compatible endpoint."
    )
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1.")
    api_key: SecretStr | None = Field(None, description="API key for the endpoint (never logged).")
    model: str | None = Field(None, description="Model name the endpoint serves.")
    output: Literal["auto", "json", "text"] = Field(
        "auto", description="json: ask for the answer as JSON items under a schema (response_format), each sentence "
        "with its source numbers; text: the Markdown contract with [n] markers; auto: JSON, and text from then on "
        "when the endpoint rejects or ignores the schema.")
    temperature: float = Field(0.0, ge=0, le=2)
    timeout_s: float = Field(
        60.0, gt=0, description="How long to wait for the endpoint: for its response, and for each piece of an "
        "answer's stream (answers are always streamed, so that a model that starts repeating itself can be stopped).")
    max_retries: int = Field(2, ge=0, le=10, description="Retries with exponential backoff on timeouts and 5xx.")
    stream_usage: bool = Field(True, description="Ask streams for their token usage (stream_options.include_usage; "
                               "an endpoint that refuses it is asked without it from then on).")
    context_tokens: int = Field(8192, ge=1024, description="The model's context window.")
    max_answer_tokens: int = Field(900, ge=64, description="Tokens reserved for the answer.")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused, counted as the model "
                                    "would read them (after Unicode normalisation: one character can become 18).")
    max_history_turns: int = Field(
        10, ge=1, le=100, description="Earlier questions of a conversation given to the model (and to the "
        "condensation of a follow-up): the most recent ones."
    )
    history_tokens: int = Field(
        1024, ge=0, description="Tokens the earlier questions may take in a prompt (normalised, then counted): the "
        "most recent that fit; older ones are left out with a notice. Within CONTEXT_TOKENS, before the sources.")
    excerpts: bool = Field(
        True, description="A model is shown only the sentences of each source that address the question (and only "
        "sources of publications that do); false: every retrieved passage whole.")
    guideline_sentences: int = Field(3, ge=1, le=10, description="Extractive: sentences in 'From the Guidelines'.")
    research_sentences: int = Field(5, ge=1, le=15, description="Extractive: sentences in 'From the Research'.")


class MeaningSettings(_Group):
    """Judgments by meaning (rag.meaning): how sentences and passages are scored against a question. Calibrated on
    the dev half of evals/datasets/clinician.jsonl and off-corpus questions (python bench/meaning.py)."""

    addresses: float = Field(
        0.45, ge=-1, le=1, description="A publication addresses the question when its best sentence scores at least "
        "this; when none of a section's publications does, the section says there is no evidence.")
    clearly: float = Field(
        0.60, ge=-1, le=1, description="A publication whose best sentence scores at least this clearly addresses the "
        "question; between ADDRESSES and this, it must also hold the question's distinctive words (rag.text.topic).")
    sentence_weight: float = Field(
        0.6, ge=0, le=1, description="A sentence's score: this x its cosine with the question + the rest x its "
        "passage's cosine (the passage gives the sentence its context).")
    relative_floor: float = Field(
        0.05, ge=0, le=1, description="Publications scoring more than this below the section's best are not quoted "
        "(chosen on the clinician dev half: 0.08 -> 0.05 cut cited publications outside the gold set 21% -> 15% and "
        "raised required facts 78% -> 80%).")
    section_floor: float = Field(
        0.05, ge=0, le=1, description="Extractive: a section whose best publication scores more than this below the "
        "other section's best says so instead of quoting (a section speaking to the question's premise, and the "
        "guideline section of a question asking what a guideline or regulator says, excepted; 1 turns it off). "
        "Chosen on the clinician dev half: quoted sentences labelled off the ask 305 -> 196, answering ones 155 -> "
        "156, required facts 86% -> 86%.")
    memory_sentences: int = Field(
        20_000, ge=0, description="Sentence vectors kept in memory per process (~1.6 KB each); the rest are read "
        "from the data dir's store.")


class VerificationSettings(_Group):
    judge: str = Field(
        "offline", description="Decides whether a passage supports an answer sentence, for verification, attribution "
        "and rag eval: offline (embedding + lexical, calibrated), llm (the generation endpoint) or a local NLI / "
        "cross-encoder model folder.")
    attribution_min_score: float = Field(
        0.0, ge=0, le=1, description="A sentence the model left uncited is attributed to a passage only when the judge "
        "finds it supported with at least this score (0: the judge's own decision).")
    max_attribution_candidates: int = Field(
        4, ge=1, le=20, description="Passages (best by word overlap) the judge checks for each uncited sentence.")

class AppraisalSettings(_Group):
    """Thresholds of the appraisal; the defaults are documented in docs/APPRAISAL.md."""

    outdated_after_years: int = Field(
        5, ge=0, description="A guideline older than this many years is flagged 'outdated'.")
    flag_outdated_studies: bool = Field(
        False, description="Flag studies as 'outdated' by the same age too (by default only guidelines: an old "
        "trial is not superseded by age alone; its age_years is reported either way).")
    max_text_chars: int = Field(
        6000, ge=1000, description="Only this much of a document's text is read for its design and sample size "
        "(abstracts and methods come first; the cost stays bounded on full-text articles).")
    small_sample: int = Field(
        100, ge=1, description="A section whose known participants total fewer than this is downgraded once "
        "(imprecision).")


class LogSettings(_Group):
    format: Literal["text", "json"] = Field(
        "text", description="text: one readable line a record; json: one JSON object a line with its fields.")
    level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="The API's log level (the CLI's is set by -v).")


class ApiSettings(_Group):
    rate_limit_per_minute: int = Field(600, ge=1, description="Requests other than answers (searches, documents, "
                                       "conversations, metrics) a key may make a minute, across all workers.")
    rate_limit_burst: int = Field(60, ge=1, description="Of those, how many may come at once.")
    answer_rate_limit_per_minute: int = Field(120, ge=1, description="Answers (POST /v1/answers, POST "
                                              "/v1/chat/completions) a key may ask for a minute, across all workers.")
    answer_rate_limit_burst: int = Field(20, ge=1, description="Of those, how many may come at once.")
    rate_limit_redis_url: SecretStr | None = Field(None, description="Keep the rate limits in this Redis "
                                                   "(redis://host:6379/0, rediss:// for TLS) so that several machines "
                                                   "share them; unset: a file in the data dir, shared by the "
                                                   "workers of one machine.")
    sse_ping_s: float = Field(15.0, gt=0, description="A streamed answer sends a keep-alive comment this often "
                              "while the model is slow, so proxies do not close an idle connection.")
    max_body_mb: float = Field(20.0, gt=0, description="Uploads (POST /v1/documents) larger than this are refused "
                               "with 413.")
    max_json_body_kb: int = Field(64, ge=1, description="Bodies of every other route larger than this (KiB) are "
                                  "refused with 413, before the body is read.")
    max_chat_body_kb: int = Field(512, ge=1, description="Bodies of POST /v1/chat/completions larger than this "
                                  "(KiB) are refused with 413 (clients resend the whole conversation, answers "
                                  "included).")
    max_chat_messages: int = Field(64, ge=1, description="A chat completion with more messages is refused (422).")
    max_chat_message_chars: int = Field(20_000, ge=100, description="A chat message longer than this (characters) "
                                        "is refused (422).")
    max_chat_total_chars: int = Field(100_000, ge=100, description="Chat messages longer than this together "
                                      "(characters) are refused (422).")
    auth_failures_per_minute: int = Field(10, ge=1, description="Failed authentications an address may make a "
                                          "minute, across all workers; past them (and the burst) it gets 429 until "
                                          "it may again.")
    auth_failure_burst: int = Field(20, ge=1, description="Failed authentications an address may make at once.")
    max_concurrent_answers: int = Field(4, ge=1, description="Answers one key (or the anonymous caller) may have "
                                        "in progress at once, per worker; counted until the work ends, even after "
                                        "a 504. More get 429.")
    readyz_cache_s: float = Field(5.0, ge=0, description="/readyz checks the store at most this often per worker "
                                  "and answers from the last check in between.")
    cors_origins: tuple[str, ...] = Field((), description="Origins allowed by CORS (none by default).")
    answer_timeout_s: float = Field(120.0, gt=0, description="A caller waiting longer for an answer (or, when "
                                  "streaming, for its sources) gets 504.")


class Settings(BaseSettings):
    """Everything configurable, passed down explicitly; nothing else reads the environment."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_nested_delimiter="__", extra="forbid", frozen=True, env_file=None
    )

    data_dir: Path = Field(Path(".rag"), description="Where the index, catalog and conversations live.")
    chroma_url: str | None = Field(None, description="A Chroma server (http://host:port or https://...); unset: "
                                   "embedded Chroma.")
    chroma_auth_token: SecretStr | None = Field(
        None, description="Server mode: the token the Chroma server requires (never logged); see "
        "store.chroma_auth_header."
    )
    api_key_hashes: str | None = Field(
        None, description="API keys as comma-separated 'sha256hex:scope' (read or admin); see rag keys create."
    )
    api_key_file: Path | None = Field(None, description="A file of 'sha256hex:scope' lines (API keys).")
    ingest: IngestSettings = IngestSettings()
    chunk: ChunkSettings = ChunkSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    store: StoreSettings = StoreSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    generation: GenerationSettings = GenerationSettings()
    meaning: MeaningSettings = MeaningSettings()
    verification: VerificationSettings = VerificationSettings()
    appraisal: AppraisalSettings = AppraisalSettings()
    log: LogSettings = LogSettings()
    api: ApiSettings = ApiSettings()

    @field_validator("chroma_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("RAG_CHROMA_URL must start with http:// or https://")
        return value.rstrip("/")
