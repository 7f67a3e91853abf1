// One answer as Markdown, laid out like `rag ask` prints it: question, sections, limitations, references, disclaimer.

import { evidenceLine, oneLine, quotesOf } from "./render.js";

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
  return lines.join("\n");
}

function reference(ref) {
  const origin = [ref.source, ref.year].filter(Boolean).join(", ");
  const kind = ref.kind === "guideline" ? "Guideline" : "Study";
  let head = `${ref.n}. **${ref.title}**${origin ? ` — ${origin}` : ""}. ${kind}.`;
  if (ref.pmid) head += ` PMID [${ref.pmid}](https://pubmed.ncbi.nlm.nih.gov/${ref.pmid}/).`;
  if (ref.doi) head += ` DOI [${ref.doi}](https://doi.org/${ref.doi}).`;
  if (ref.url && !ref.doi && !ref.pmid) head += ` <${ref.url}>`;
  const lines = [head];
  if (ref.appraisal && evidenceLine(ref.appraisal)) lines.push(`   *Evidence:* ${evidenceLine(ref.appraisal)}`);
  if (ref.notes) lines.push(`   *Note on our record:* ${oneLine(ref.notes)}`);
  for (const quote of quotesOf(ref)) lines.push(`   > “${oneLine(quote.text)}”`);
  return lines.join("\n");
}
