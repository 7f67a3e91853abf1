// Talks to POST /v1/answers with stream=true and reads its Server-Sent Events: sources, delta, notice, answer, error.
// Failures become an ApiError whose message a person understands.

export class ApiError extends Error {
  constructor(kind, message, retryAfter = 0) {
    super(message);
    this.kind = kind;            // unreachable | auth | forbidden | too-long | rate-limited | interrupted | server
    this.retryAfter = retryAfter; // seconds, for rate-limited and unavailable
  }
}

/** Streams an answer. `on` has optional sources(list), delta(text), notice(text); resolves to the final Answer. */
export async function streamAnswer(request, apiKey, on, signal) {
  const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  let response;
  try {
    response = await fetch("/v1/answers", {
      method: "POST", headers, signal, body: JSON.stringify({ ...request, stream: true }),
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("unreachable", "The server cannot be reached. Check that it is running (rag serve) and " +
      "that you are online, then ask again.");
  }
  if (!response.ok) throw await errorFrom(response, Boolean(apiKey));
  return readEvents(response, on);
}

async function readEvents(response, on) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let answer = null;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (error) {
      if (error.name === "AbortError") throw error;
      break;
    }
    if (chunk.done) break;
    buffer += chunk.value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event.name === "answer") answer = event.data;
      else if (event.name === "error") throw new ApiError("server", `The answer failed: ${event.data.message}`);
      else on[event.name]?.(event.name === "delta" ? event.data.text : event.data);
    }
  }
  if (!answer) {
    throw new ApiError("interrupted", "The connection closed before the answer was complete. Please ask again.");
  }
  return answer;
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return { name, data: data.length ? JSON.parse(data.join("\n")) : null };
}

async function errorFrom(response, sentKey) {
  let error = {};
  try {
    error = (await response.json()).error ?? {};
  } catch {
    // not JSON (a proxy's page): the status alone decides the message
  }
  const wait = Number.parseInt(response.headers.get("Retry-After") ?? "", 10) || 0;
  const reference = error.request_id ? ` (request id ${error.request_id})` : "";
  switch (response.status) {
    case 401:
      return sentKey
        ? new ApiError("auth", "The API key was not accepted. Check it and ask again.")
        : new ApiError("auth", "This server needs an API key. Enter it below and ask again.");
    case 403:
      return new ApiError("forbidden", "This API key is not allowed to ask questions. Use a key with the read scope.");
    case 413:
      return new ApiError("too-long", "The question is too long to send. Please shorten it.");
    case 422:
      return invalid(error);
    case 429:
      return new ApiError("rate-limited", `Too many questions in a short time. Please wait ${seconds(wait || 5)} ` +
        "and ask again.", wait || 5);
    case 502:
      return new ApiError("server", "The language model behind this server failed. Please try again in a moment.");
    case 503:
      return new ApiError("server", "The service is starting or its index is unavailable. Please try again " +
        `in ${seconds(wait || 5)}.`, wait || 5);
    case 504:
      return new ApiError("server", "The answer took too long. Please try again, perhaps with a narrower question.");
    default:
      return new ApiError("server", `The server could not answer (error ${response.status})${reference}. ` +
        "Please try again.");
  }
}

function invalid(error) {
  const told = String(error.message ?? "");
  const counted = /question is (\d+) characters long; the limit is (\d+)/.exec(told);
  if (counted) {
    return new ApiError("too-long", `Your question is too long: ${counted[1]} characters, and the limit is ` +
      `${counted[2]}. Please shorten it.`);
  }
  const problems = Array.isArray(error.detail) ? error.detail : [];
  const question = problems.find((p) => String(p.field).endsWith("question"));
  const said = question?.message ?? told;
  return new ApiError("invalid", `The question could not be accepted: ${said || "it is not valid"}.`);
}

function seconds(n) {
  return n === 1 ? "1 second" : `${n} seconds`;
}
