// DOM building from text nodes only, never parsed HTML: answer text comes from documents.

/** `el("p", {class: "x"}, "text", child)`: strings become text nodes; null/false children are skipped. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** An external link (http or https only; anything else is shown as text). */
export function externalLink(href, text, label) {
  let url;
  try {
    url = new URL(href);
  } catch {
    return document.createTextNode(text);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return document.createTextNode(text);
  return el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer", "aria-label": label }, text);
}
