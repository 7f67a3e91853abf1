// One answer as Markdown, laid out like `rag ask` prints it: question, sections, limitations, references, disclaimer.
// The text comes from documents and models, so the Markdown is made inert as the server's is (rag/text/inert.py):
// nothing in it renders as an image, raw HTML or a link; identifiers are followed by plain http(s) addresses.

import { evidenceLine, oneLine, quotesOf } from "./render.js";

// "<" before a tag's first character, "!" before "[", and "(" or ":" right after "]"; backslashes doubled.
const UNSAFE = /\\|<(?=[A-Za-z/!?])|!(?=\[)|(?<=\])[(:]/g;

export function inertMarkdown(text) {
  return String(text).replace(UNSAFE, (found) => `\\${found}`);
}

export function answerMarkdown(answer) {
  const lines = [`# ${answer.question}`, ""];
  for (const section of answer.sections) {
    lines.push(`## ${section.title}`, "");
    if (section.certainty) lines.push(`*Certainty of evidence (GRADE-inspired): ${section.certainty.reason}*`, "");
    if (section.consensus) lines.push(`*${section.consensus.summary}*`, "");
    lines.push(section.evidence_found ? section.text : `*${section.text}*`, "");
  }
  lines.push("## Limitations", "", answer.limitations, "");
  if (answer.references.length) {
    lines.push("## References", "", ...answer.references.map(reference), "");
  }
  for (const notice of answer.notices ?? []) lines.push(`> **Note:** ${notice}`, "");
  lines.push("---", "", `*${answer.disclaimer}*`, "");
  return inertMarkdown(lines.join("\n"));
}

function reference(ref) {
  const origin = [ref.source, ref.year].filter(Boolean).join(", ");
  const kind = ref.kind === "guideline" ? "Guideline" : "Study";
  let head = `${ref.n}. **${ref.title}**${origin ? ` — ${origin}` : ""}. ${kind}.`;
  if (ref.pmid) head += /^\d{1,9}$/.test(ref.pmid) ? ` PMID ${ref.pmid} https://pubmed.ncbi.nlm.nih.gov/${ref.pmid}/.`
    : ` PMID ${ref.pmid}.`;
  if (ref.doi) head += /^10\.\d{4,9}\/\S+$/.test(ref.doi) ? ` DOI ${ref.doi} https://doi.org/${encodeURI(ref.doi)}`
    : ` DOI ${ref.doi}.`;
  const url = webAddress(ref.url);
  if (url && !ref.doi && !ref.pmid) head += ` ${url}`;
  const lines = [head];
  if (ref.appraisal && evidenceLine(ref.appraisal)) lines.push(`   *Evidence:* ${evidenceLine(ref.appraisal)}`);
  if (ref.notes) lines.push(`   *Note on our record:* ${oneLine(ref.notes)}`);
  for (const quote of quotesOf(ref)) lines.push(`   > “${oneLine(quote.text)}”`);
  return lines.join("\n");
}

// An http(s) address to show as text, without characters that could end or break it; else null.
function webAddress(url) {
  const match = /^https?:\/\/[^\s<>"'`\\]+$/.exec(String(url ?? "").trim());
  return match ? match[0] : null;
}
