// The caller's changes as they happen: one WebSocket to GET /api/events, opened with a single-use
// ticket (a browser cannot put the API key in a WebSocket's headers, and it must never be in a
// URL). Views subscribe with onLiveEvent; while the socket is down they fall back to polling
// (isLive() says which). Reconnects back off from 0.5 s to 30 s and ask for what was missed
// (`since`); a `resync` event means: reload.
import { call } from "./api.js";

const KEEP_ALIVE_MS = 30_000; // "ping" is answered "pong" without waking the server's object
const MAX_BACKOFF_MS = 30_000;

const listeners = new Set();
const stateListeners = new Set();
let socket = null;
let state = "off";
let lastSeq = null;
let failures = 0;
let retryTimer = null;
let keepAlive = null;
let generation = 0;

export function isLive() {
  return state === "live";
}

export function onLiveEvent(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function onLiveState(listener) {
  stateListeners.add(listener);
  listener(state);
  return () => stateListeners.delete(listener);
}

function setState(next) {
  if (state === next) return;
  state = next;
  for (const listener of stateListeners) listener(state);
}

export function startLive() {
  stopLive();
  connect(++generation);
}

export function stopLive() {
  generation += 1;
  clearTimeout(retryTimer);
  clearInterval(keepAlive);
  const closing = socket;
  socket = null;
  closing?.close(1000, "signed out");
  lastSeq = null;
  failures = 0;
  setState("off");
}

async function connect(mine) {
  setState("connecting");
  let ticket;
  try {
    ticket = (await (await call("/api/events/tickets", { method: "POST" })).json()).ticket;
  } catch {
    if (mine === generation) retry(mine);
    return;
  }
  if (mine !== generation) return; // signed out (or restarted) meanwhile
  const url = new URL("/api/events", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("ticket", ticket);
  if (lastSeq !== null) url.searchParams.set("since", String(lastSeq));
  const ws = new WebSocket(url);
  socket = ws;
  ws.addEventListener("open", () => {
    failures = 0;
    setState("live");
    keepAlive = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), KEEP_ALIVE_MS);
  });
  ws.addEventListener("message", (message) => {
    if (typeof message.data !== "string" || message.data === "pong") return;
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (typeof event.seq === "number" && event.type !== "resync") lastSeq = event.seq;
    if (event.type === "resync") lastSeq = event.seq ?? null;
    for (const listener of listeners) listener(event);
  });
  ws.addEventListener("close", () => {
    clearInterval(keepAlive);
    if (socket !== ws || mine !== generation) return;
    socket = null;
    setState("offline");
    retry(mine);
  });
}

function retry(mine) {
  setState("offline");
  const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures);
  failures += 1;
  retryTimer = setTimeout(() => mine === generation && connect(mine), delay);
}
