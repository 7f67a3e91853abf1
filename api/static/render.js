// One question and its answer on the page: the draft while it streams, then the verified Answer.

import { el, externalLink } from "./dom.js";

const SECTIONS = [["guidelines", "From the Guidelines"], ["research", "From the Research"]];
const DRAFT_HEADINGS = { "from the guidelines": "guidelines", "from the research": "research", limitations: "limitations" };

/** "Source, 2019 · Guideline" */
export function origin(ref) {
  const where = [ref.source, ref.year].filter(Boolean).join(", ");
  return [where, ref.kind === "guideline" ? "Guideline" : "Study"].filter(Boolean).join(" · ");
}

/** PMID and DOI as links, and the source's web page when it has one. */
export function identifiers(ref) {
  const items = [];
  if (ref.pmid && /^\d+$/.test(ref.pmid)) {
    items.push(["PMID ", externalLink(`https://pubmed.ncbi.nlm.nih.gov/${ref.pmid}/`, ref.pmid, `PMID ${ref.pmid}`)]);
  }
  if (ref.doi) {
    const path = ref.doi.split("/").map(encodeURIComponent).join("/");
    items.push(["DOI ", externalLink(`https://doi.org/${path}`, ref.doi, `DOI ${ref.doi}`)]);
  }
  if (ref.url) items.push(["", externalLink(ref.url, "Source web page", `Source web page: ${ref.title}`)]);
  return items.length ? el("ul", { class: "identifiers" }, items.map(([label, link]) => el("li", {}, label, link))) : null;
}

export class TurnView {
  /** `actions` has cite(reference, button, turnId) and copy(answer, button). */
  constructor(id, question, audience, actions) {
    this.id = id;
    this.actions = actions;
    this.draftText = "";
    this.body = el("div", { class: "turn-answer", "aria-busy": "true" });
    this.node = el("article", { class: "turn", id, "aria-labelledby": `${id}-q` },
      el("h2", { id: `${id}-q`, class: "turn-question" }, question),
      el("p", { class: "turn-meta" }, audience === "patient" ? "Answer for a patient" : "Answer for a clinician"),
      this.body);
    this.draft = this.#draftLayout();
  }

  #draftLayout() {
    const parts = {};
    const nodes = [];
    for (const [key, title] of [...SECTIONS, ["limitations", "Limitations"]]) {
      parts[key] = el("p", { class: "draft-text" });
      nodes.push(el("section", { class: `answer-section draft ${key}` }, el("h3", {}, title), parts[key]));
    }
    this.sourcesNode = el("div", { class: "sources-found" });
    this.body.replaceChildren(el("p", { class: "working" }, "Searching the guidelines and studies…"),
      ...nodes, this.sourcesNode);
    return parts;
  }

  showSources(sources) {
    const guidelines = sources.filter((s) => s.kind === "guideline").length;
    const studies = sources.length - guidelines;
    this.body.querySelector(".working").textContent =
      `Found ${guidelines} guideline passage(s) and ${studies} study passage(s). Writing the answer…`;
    this.sourcesNode.replaceChildren(el("h3", {}, "Sources being read"),
      el("ol", { class: "source-list" }, sources.map((s) => el("li", { value: s.n }, s.title, " ",
        el("span", { class: "muted" }, `(${origin(s)})`)))));
  }

  appendDelta(text) {
    this.draftText += text;
    const parts = { guidelines: "", research: "", limitations: "" };
    let current = null;
    for (const line of this.draftText.split("\n")) {
      const heading = /^#{1,6}\s*(.+?)\s*$/.exec(line);
      if (heading) current = DRAFT_HEADINGS[heading[1].toLowerCase()] ?? current;
      else if (current) parts[current] += `${line}\n`;
    }
    for (const [key, text] of Object.entries(parts)) this.draft[key].textContent = text.trim();
  }

  addNotice(text) {
    this.body.prepend(el("p", { class: "notice" }, text));
  }

  showAnswer(answer) {
    const refs = new Map(answer.references.map((r) => [r.n, r]));
    this.answer = answer;
    const parts = [
      answer.standalone_question ? el("p", { class: "muted" }, `Searched as: ${answer.standalone_question}`) : null,
      ...answer.sections.map((section) => this.#section(section, refs)),
      el("section", { class: "limitations", "aria-labelledby": `${this.id}-lim` },
        el("h3", { id: `${this.id}-lim` }, "Limitations"), el("p", {}, answer.limitations)),
      ...(answer.notices ?? []).map((notice) => el("p", { class: "notice" }, notice)),
      this.#references(answer.references),
      el("p", { class: answer.grounding.verified ? "verified" : "unverified" }, verification(answer.grounding)),
      el("p", { class: "disclaimer" }, answer.disclaimer),
      this.#toolbar(answer),
    ];
    this.body.replaceChildren(...parts.filter(Boolean));
    this.body.setAttribute("aria-busy", "false");
  }

  fail() {
    this.node.remove();
  }

  #section(section, refs) {
    const id = `${this.id}-${section.kind}`;
    const empty = !section.evidence_found;
    return el("section", { class: `answer-section ${section.kind}${empty ? " no-evidence" : ""}`, "aria-labelledby": id },
      el("h3", { id }, section.title, empty ? el("span", { class: "badge" }, "No evidence found") : null),
      section.certainty ? el("p", { class: "certainty" }, `Certainty of evidence (GRADE-inspired): ${section.certainty.reason}`) : null,
      section.consensus ? el("p", { class: "consensus" }, section.consensus.summary) : null,
      el("p", { class: "section-text" }, this.#cited(section.text, refs)),
      section.kind === "research" && !empty ? studyTable(section, refs) : null);
  }

  /** The text with each [n] as a button opening the citation popover. */
  #cited(text, refs) {
    const nodes = [];
    let last = 0;
    for (const match of text.matchAll(/\[(\d+)\]/g)) {
      const ref = refs.get(Number(match[1]));
      if (!ref) continue;
      nodes.push(text.slice(last, match.index));
      const sentence = sentenceBefore(text, match.index);
      const button = el("button", { type: "button", class: "cite", "aria-haspopup": "dialog",
        "aria-expanded": "false", "aria-label": `Source ${ref.n}`, title: ref.title }, `[${ref.n}]`);
      button.addEventListener("click", () => this.actions.cite(ref, button, this.id, sentence));
      nodes.push(button);
      last = match.index + match[0].length;
    }
    nodes.push(text.slice(last));
    return nodes;
  }

  #references(references) {
    if (!references.length) return null;
    const id = `${this.id}-refs`;
    return el("section", { class: "references", "aria-labelledby": id }, el("h3", { id }, "References"),
      el("ol", {}, references.map((ref) => el("li", { id: `${this.id}-ref-${ref.n}`, value: ref.n, tabindex: "-1" },
        el("p", { class: "ref-title" }, ref.title),
        el("p", { class: "muted" }, origin(ref)),
        identifiers(ref),
        ref.appraisal && evidenceLine(ref.appraisal) ? el("p", { class: "evidence" }, `Evidence: ${evidenceLine(ref.appraisal)}`) : null,
        ref.notes ? el("p", { class: "muted note" }, `Note on our record: ${ref.notes}`) : null,
        ...quotesOf(ref).map((quote) => el("blockquote", { class: "quote" }, `“${oneLine(quote.text)}”`))))));
  }

  #toolbar(answer) {
    const copy = el("button", { type: "button", class: "copy" }, "Copy as Markdown");
    copy.addEventListener("click", () => this.actions.copy(answer, copy));
    return el("div", { class: "turn-actions" }, copy);
  }
}

const DESIGNS = {
  "systematic-review": "systematic review", "meta-analysis": "meta-analysis", rct: "randomised trial",
  "non-randomized-trial": "non-randomised trial", cohort: "cohort study", "case-control": "case-control study",
  "cross-sectional": "cross-sectional study", "case-series": "case series", "case-report": "case report",
  "narrative-review": "narrative review", "position-statement": "position statement",
};
const DIRECTIONS = { supports: "supports", no_difference: "no difference", against: "against", unclear: "unclear" };

/** "randomised trial (level 2) · n = 50 · 9 years old · finding: no difference" */
export function evidenceLine(appraisal) {
  const parts = [];
  if (appraisal.design) {
    const design = DESIGNS[appraisal.design] ?? appraisal.design;
    parts.push(appraisal.level ? `${design} (level ${appraisal.level})` : design);
  }
  if (appraisal.sample_size) parts.push(`n = ${appraisal.sample_size}`);
  if (appraisal.age_years !== null && appraisal.age_years !== undefined) {
    parts.push(appraisal.age_years === 1 ? "1 year old" : `${appraisal.age_years} years old`);
  }
  if (appraisal.direction && appraisal.direction !== "unclear") parts.push(`finding: ${DIRECTIONS[appraisal.direction]}`);
  if (appraisal.recommendation_strength) {
    parts.push(["recommendation", appraisal.recommendation_strength, appraisal.recommendation_direction].filter(Boolean).join(" "));
  }
  for (const flag of appraisal.flags ?? []) parts.push(flag.replace("_", " "));
  return parts.join(" · ");
}

/** The studies a research section cites, as a table: design, participants, year, what the cited finding says. */
function studyTable(section, refs) {
  const cited = [...new Set([...section.text.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))]
    .map((n) => refs.get(n)).filter((ref) => ref && ref.appraisal);
  if (!cited.length) return null;
  const cell = (value) => el("td", {}, value === null || value === undefined || value === "" ? "—" : String(value));
  return el("details", { class: "study-table" }, el("summary", {}, `Cited studies (${cited.length})`),
    el("table", {},
      el("thead", {}, el("tr", {}, ["", "Design", "n", "Year", "Finding"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, cited.map((ref) => el("tr", {},
        el("th", { scope: "row" }, `[${ref.n}]`),
        cell(DESIGNS[ref.appraisal.design] ?? ref.appraisal.design), cell(ref.appraisal.sample_size),
        cell(ref.year), cell(DIRECTIONS[ref.appraisal.direction]))))));
}

/** The quotes of a reference (answers from before quotes were lists have one). */
export function quotesOf(ref) {
  return ref.quotes?.length ? ref.quotes : [{ text: ref.quote, span: ref.span, chunk_id: ref.chunk_id }];
}

/** The quotes of a reference, the one sharing most words with `sentence` first. */
export function quotesFor(ref, sentence) {
  const words = new Set(wordsOf(sentence));
  const shared = (quote) => wordsOf(quote.text).filter((w) => words.has(w)).length;
  return [...quotesOf(ref)].sort((a, b) => shared(b) - shared(a));
}

export function oneLine(text) {
  return text.trim().split(/\s+/).join(" ");
}

function wordsOf(text) {
  return (text.toLowerCase().match(/[a-z0-9]{3,}/g) ?? []);
}

/** The sentence a citation at `index` ends: from the last sentence end before it. */
function sentenceBefore(text, index) {
  const before = text.slice(0, index);
  const end = Math.max(before.lastIndexOf(". "), before.lastIndexOf("! "), before.lastIndexOf("? "));
  return before.slice(end + 1);
}

function verification(grounding) {
  if (grounding.verified) {
    const repairs = [];
    if (grounding.attributed?.length) repairs.push(`${grounding.attributed.length} citation(s) added by the system`);
    if (grounding.removed?.length) repairs.push(`${grounding.removed.length} unsupported or repeated sentence(s) removed`);
    return `✓ Every citation was checked against its passage${repairs.length ? ` (${repairs.join("; ")})` : ""}.`;
  }
  const problems = [];
  if (grounding.dangling.length) problems.push(`${grounding.dangling.length} invented citation(s) removed`);
  if (grounding.misrouted.length) problems.push(`${grounding.misrouted.length} citation(s) in the wrong section`);
  if (grounding.unsupported_sentences.length) {
    problems.push(`${grounding.unsupported_sentences.length} sentence(s) not supported by their sources`);
  }
  if (grounding.uncited_sentences?.length) problems.push(`${grounding.uncited_sentences.length} uncited sentence(s)`);
  return `Check with care: ${problems.join("; ") || "the citations could not be verified"}.`;
}
