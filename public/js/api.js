// The edgefiles API from the browser: the key comes from sessionStorage and travels only in the
// Authorization header; every error answer is turned into an ApiError carrying the problem
// details' title and detail (RFC 9457).

const KEY_STORAGE = "edgefiles.apiKey";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.status = status;
    this.title = problem.title ?? "Request failed";
    this.detail = problem.detail ?? "";
    this.problem = problem;
  }
}

export const session = {
  get key() {
    return sessionStorage.getItem(KEY_STORAGE);
  },
  signIn(key) {
    sessionStorage.setItem(KEY_STORAGE, key);
  },
  signOut() {
    sessionStorage.removeItem(KEY_STORAGE);
  },
};

function authHeaders(extra = {}) {
  return { authorization: `Bearer ${session.key}`, ...extra };
}

// The body when it is problem details, else a problem made from the status line.
function asProblem(body, status, statusText) {
  if (body && typeof body.title === "string") return body;
  return { title: statusText || `HTTP ${status}`, status };
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null; // not JSON after all: the status line will have to do
  }
}

async function problemFrom(response) {
  const type = response.headers.get("content-type") ?? "";
  const body = type.includes("json") ? parseJson(await response.text()) : null;
  return asProblem(body, response.status, response.statusText);
}

// fetch with the API key; resolves to the Response when it is a success, throws ApiError otherwise.
export async function call(path, { method = "GET", body, headers = {}, signal } = {}) {
  let response;
  try {
    response = await fetch(path, { method, body, headers: authHeaders(headers), signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { title: "Network error", detail: "The service could not be reached." });
  }
  if (!response.ok) throw new ApiError(response.status, await problemFrom(response));
  return response;
}

export async function getJson(path, options) {
  return (await call(path, options)).json();
}

export async function sendJson(path, method, value, { signal } = {}) {
  const response = await call(path, {
    method,
    body: JSON.stringify(value),
    headers: { "content-type": "application/json" },
    signal,
  });
  return response.status === 204 ? null : response.json();
}

// Every item of a paged listing ({items, next_cursor}), newest first, up to `maxPages` pages of
// 100: for lists the API cannot filter itself (a file's share links).
export async function getAllItems(path, { maxPages = 10, signal } = {}) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const query = new URLSearchParams({ limit: "100" });
    if (cursor) query.set("cursor", cursor);
    const listing = await getJson(`${path}${path.includes("?") ? "&" : "?"}${query}`, { signal });
    items.push(...listing.items);
    cursor = listing.next_cursor;
    if (!cursor) break;
  }
  return items;
}

// A request whose body's upload progress is reported (fetch has no upload progress events, so
// this is XMLHttpRequest). Resolves to the parsed JSON answer; rejects with ApiError.
export function sendWithProgress(path, { method, body, headers = {}, onProgress, signal }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    for (const [name, value] of Object.entries(authHeaders(headers))) xhr.setRequestHeader(name, value);
    xhr.responseType = "text";
    xhr.upload.onprogress = (event) => onProgress?.(event.loaded);
    xhr.onload = () => {
      const parsed = xhr.responseText ? parseJson(xhr.responseText) : null;
      if (xhr.status >= 200 && xhr.status < 300) resolve(parsed);
      else reject(new ApiError(xhr.status, asProblem(parsed, xhr.status, xhr.statusText)));
    };
    xhr.onerror = () => reject(new ApiError(0, { title: "Network error", detail: "The upload was interrupted." }));
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

// Server-Sent Events from a fetch body (EventSource cannot send an Authorization header).
// Calls onData with each event's data until the stream ends or sends [DONE].
export async function readEventStream(path, onData, { signal } = {}) {
  const response = await call(path, { headers: { accept: "text/event-stream" }, signal });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data === "[DONE]") {
        await reader.cancel();
        return;
      }
      if (data) onData(data);
    }
  }
}
