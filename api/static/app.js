// The page: ask, stream the answer into the conversation, follow-ups, audience, API key, copy, errors.

import { ApiError, streamAnswer } from "./api.js";
import { el } from "./dom.js";
import { answerMarkdown } from "./markdown.js";
import { CitationPopover } from "./popover.js";
import { TurnView } from "./render.js";

const KEY_STORAGE = "rag.apiKey"; // sessionStorage only: gone when the tab closes
const byId = (id) => document.getElementById(id);
const page = {
  form: byId("ask-form"), question: byId("question"), label: byId("question-label"), ask: byId("ask"),
  reask: byId("reask"), restart: byId("new-conversation"), keyBox: byId("key-box"), key: byId("api-key"),
  error: byId("error"), status: byId("status"), conversation: byId("conversation"),
};
const popover = new CitationPopover(byId("citation"));
const state = { conversationId: null, turns: 0, lastQuestion: null, lastAudience: null, busy: false, waitUntil: 0 };

const audience = () => page.form.elements.audience.value;
const announce = (text) => { page.status.textContent = text; };

async function ask(question) {
  if (state.busy || Date.now() < state.waitUntil) return;
  if (!question) {
    showError("Please type a question first.", page.question);
    return;
  }
  hideError();
  setBusy(true);
  const chosen = audience();
  const view = new TurnView(`t${++state.turns}`, question, chosen, { cite: (...args) => popover.open(...args), copy });
  page.conversation.append(view.node);
  view.node.scrollIntoView({ block: "start" });
  announce("Searching the guidelines and studies…");
  const key = page.keyBox.hidden ? "" : page.key.value.trim();
  try {
    const answer = await streamAnswer({ question, audience: chosen, conversation_id: state.conversationId }, key, {
      sources: (sources) => {
        view.showSources(sources);
        announce(`Found ${sources.length} passages. Writing the answer…`);
      },
      delta: (text) => view.appendDelta(text),
      notice: (text) => view.addNotice(text),
    });
    view.showAnswer(answer);
    remember(answer, question, key);
    const checked = answer.grounding.verified ? " Every citation was checked." : " Some citations need care.";
    const count = answer.references.length;
    announce(`The answer is ready, with ${count} reference${count === 1 ? "" : "s"}.${checked}`);
  } catch (error) {
    view.fail();
    failed(error);
  } finally {
    setBusy(false);
  }
}

function remember(answer, question, key) {
  state.conversationId = answer.conversation_id;
  state.lastQuestion = question;
  state.lastAudience = answer.audience;
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  page.question.value = "";
  page.label.textContent = "Ask a follow-up";
  page.restart.hidden = false;
  updateReask();
}

function failed(error) {
  announce("");
  if (!(error instanceof ApiError)) {
    console.error(error);
    showError("Something went wrong in this page. Reload it and ask again.");
    return;
  }
  if (error.kind === "auth") {
    page.keyBox.hidden = false;
    sessionStorage.removeItem(KEY_STORAGE);
    showError(error.message, page.key);
    return;
  }
  if (error.retryAfter) holdFor(error.retryAfter);
  showError(error.message, error.kind === "too-long" ? page.question : null);
}

function showError(message, field = null) {
  page.error.textContent = message;
  page.error.hidden = false;
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-errormessage", "error");
    field.focus();
  }
}

function hideError() {
  page.error.hidden = true;
  page.error.textContent = "";
  for (const field of [page.question, page.key]) field.removeAttribute("aria-invalid");
}

function setBusy(busy) {
  state.busy = busy;
  page.form.setAttribute("aria-busy", String(busy));
  page.reask.disabled = busy;
  if (Date.now() >= state.waitUntil) {
    page.ask.disabled = busy;
    page.ask.textContent = busy ? "Answering…" : "Ask";
  }
}

/** After a 429 or 503: the Ask button counts down the Retry-After seconds. */
function holdFor(seconds) {
  state.waitUntil = Date.now() + seconds * 1000;
  const tick = () => {
    const left = Math.ceil((state.waitUntil - Date.now()) / 1000);
    page.ask.disabled = left > 0 || state.busy;
    page.ask.textContent = left > 0 ? `Ask (wait ${left} s)` : "Ask";
    if (left > 0) setTimeout(tick, 1000);
  };
  tick();
}

function updateReask() {
  const other = audience();
  page.reask.hidden = !state.lastQuestion || other === state.lastAudience;
  page.reask.textContent = `Ask the last question again for a ${other}`;
}

async function copy(answer, button) {
  const text = answerMarkdown(answer);
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    copied = copyWithSelection(text); // no Clipboard API outside secure contexts (plain http on a LAN address)
    button.focus();
  }
  announce(copied ? "The answer was copied as Markdown." : "This browser blocked copying; select the text instead.");
  if (copied) {
    button.textContent = "Copied ✓";
    setTimeout(() => { button.textContent = "Copy as Markdown"; }, 2000);
  }
}

function copyWithSelection(text) {
  const area = el("textarea", { readonly: "", class: "offscreen", "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  return copied;
}

function restart() {
  state.conversationId = state.lastQuestion = state.lastAudience = null;
  page.conversation.replaceChildren();
  page.label.textContent = "Your question";
  page.restart.hidden = true;
  updateReask();
  hideError();
  page.question.focus();
  announce("A new conversation was started.");
}

page.form.addEventListener("submit", (event) => {
  event.preventDefault();
  ask(page.question.value.trim());
});
page.question.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) page.form.requestSubmit();
});
page.form.addEventListener("change", (event) => {
  if (event.target.name === "audience") updateReask();
});
page.reask.addEventListener("click", () => ask(state.lastQuestion));
page.restart.addEventListener("click", restart);

const savedKey = sessionStorage.getItem(KEY_STORAGE);
if (savedKey) {
  page.key.value = savedKey;
  page.keyBox.hidden = false;
}
