// The citation popover: a modal <dialog> with the quoted sentence, the source, its year and identifiers.
// Focus moves into it, Escape (native to <dialog>) or a click outside closes it, and focus returns to the citation.

import { el } from "./dom.js";
import { identifiers, oneLine, origin, quotesFor } from "./render.js";

export class CitationPopover {
  constructor(dialog) {
    this.dialog = dialog;
    this.heading = dialog.querySelector("h2");
    this.body = dialog.querySelector(".popover-body");
    this.closeButton = dialog.querySelector(".close");
    this.returnTo = null;
    this.closeButton.addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close(); // the backdrop
    });
    dialog.addEventListener("close", () => this.#closed());
  }

  open(ref, trigger, turnId, sentence = "") {
    if (this.dialog.open) this.dialog.close();
    this.trigger = trigger;
    this.returnTo = trigger;
    this.heading.textContent = `Source [${ref.n}] · ${ref.kind === "guideline" ? "Guideline" : "Study"}`;
    const toReference = el("a", { href: `#${turnId}-ref-${ref.n}` }, `Go to reference ${ref.n} in the list`);
    toReference.addEventListener("click", (event) => {
      event.preventDefault();
      this.returnTo = document.getElementById(`${turnId}-ref-${ref.n}`) ?? trigger;
      this.dialog.close();
    });
    const [first, ...others] = quotesFor(ref, sentence);
    this.body.replaceChildren(
      el("p", { class: "popover-label" }, "The sentence this citation rests on:"),
      el("blockquote", { class: "quote" }, `“${oneLine(first.text)}”`),
      ...(others.length ? [el("p", { class: "popover-label" }, "Also quoted from this source:"),
        ...others.map((quote) => el("blockquote", { class: "quote" }, `“${oneLine(quote.text)}”`))] : []),
      el("p", { class: "ref-title" }, ref.title),
      el("p", { class: "muted" }, origin(ref)),
      identifiers(ref) ?? el("p", { class: "muted" }, "No PMID or DOI recorded for this source."),
      el("p", {}, toReference));
    trigger.setAttribute("aria-expanded", "true");
    this.dialog.showModal();
    this.#place(trigger);
    this.closeButton.focus();
  }

  /** Beside the citation on wide screens; phone widths get a bottom sheet from the style sheet. */
  #place(trigger) {
    const style = this.dialog.style;
    style.top = style.left = "";
    if (window.innerWidth < 640) return;
    const anchor = trigger.getBoundingClientRect();
    const box = this.dialog.getBoundingClientRect();
    let top = anchor.bottom + 8;
    if (top + box.height > window.innerHeight - 8) top = Math.max(8, anchor.top - box.height - 8);
    const left = Math.min(Math.max(8, anchor.left - 24), window.innerWidth - box.width - 8);
    style.top = `${top}px`;
    style.left = `${left}px`;
  }

  #closed() {
    this.trigger?.setAttribute("aria-expanded", "false");
    const target = this.returnTo;
    this.trigger = this.returnTo = null;
    if (!target) return;
    target.focus();
    if (target.tagName === "LI") target.scrollIntoView({ block: "center" });
  }
}
