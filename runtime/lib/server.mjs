// The HTTP front door: node:http in, a web Request to the Python Worker, its Response streamed
// back out. Bodies stay streams with backpressure in both directions.
import http from "node:http";
import { once } from "node:events";
import { WebSocketServer } from "ws";
import { registerKnownLength } from "./streams.mjs";
import { MAX_MESSAGE_BYTES } from "./websockets.mjs";

const NO_BODY_METHODS = new Set(["GET", "HEAD"]);
const BODY_HIGH_WATER_MARK = 64 * 1024;

// The edge refuses request bodies over the zone plan's limit before any Worker runs: 100 MB on
// Free and Pro (Cloudflare docs, workers/platform/limits "Request limits"; Business 200 MB,
// Enterprise 500 MB). Whether "MB" is 10^6 or 2^20 bytes is not documented; the smaller is the
// stricter reading, and wrangler sizes its own uploads by it (workers-sdk PR #1392).
export const REQUEST_BODY_LIMITS = { free: 100_000_000, pro: 100_000_000, business: 200_000_000, enterprise: 500_000_000 };
export const EDGE_REQUEST_BODY_LIMIT = REQUEST_BODY_LIMITS.free;
const EDGE_413_PAGE =
  "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n" +
  "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";

// The edge's own 413, sent instead of (or, for a chunked body found too long on the way, in
// place of) the Worker's response. The connection is closed: the rest of the body is not read.
export function refuseTooLarge(res) {
  if (!res.headersSent) {
    res.writeHead(413, "Request Entity Too Large", { "content-type": "text/html", connection: "close" });
    res.end(EDGE_413_PAGE);
  } else {
    res.destroy();
  }
  res.once("finish", () => res.req?.destroy?.());
}

// The request body as a web stream with byte-counted backpressure. When the Worker gives up on
// the body (cancels it, or answers without reading it) the rest is read and dropped rather than
// the socket destroyed, so the client still receives the response, as from a real edge.
function requestBody(req, { limit, onTooLarge }) {
  let open = true;
  let received = 0;
  const drain = () => {
    open = false;
    req.removeAllListeners("data");
    req.on("data", () => {});
    req.resume();
  };
  const stream = new ReadableStream(
    {
      start(controller) {
        req.on("data", (chunk) => {
          received += chunk.byteLength;
          if (received > limit) {
            open = false;
            controller.error(new Error("Network connection lost."));
            req.removeAllListeners("data");
            onTooLarge();
            return;
          }
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if (controller.desiredSize <= 0) req.pause();
        });
        req.once("end", () => open && controller.close());
        req.once("error", (error) => open && controller.error(error));
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel: drain,
    },
    { highWaterMark: BODY_HIGH_WATER_MARK, size: (chunk) => chunk.byteLength },
  );
  return { stream, drain };
}

// Returns the web Request and a function to call once the response is out: it drops whatever
// part of the body the Worker did not read.
export function toWebRequest(req, { port, limit = EDGE_REQUEST_BODY_LIMIT, onTooLarge = () => {} }) {
  const url = new URL(req.url, `http://${req.headers.host ?? `127.0.0.1:${port}`}`);
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  let body = null;
  let finish = () => {};
  if (!NO_BODY_METHODS.has(req.method)) {
    const { stream, drain } = requestBody(req, { limit, onTooLarge });
    body = stream;
    finish = () => req.complete || drain();
    const length = req.headers["content-length"];
    if (length !== undefined) registerKnownLength(body, Number(length));
  }
  const request = new Request(url, { method: req.method, headers, body, duplex: "half" });
  if (body && request.body !== body) registerKnownLength(request.body, Number(req.headers["content-length"]));
  const cf = {
    colo: "LOCAL",
    country: "XX",
    httpProtocol: `HTTP/${req.httpVersion}`,
    clientTcpRtt: 0,
    asn: 0,
    tlsVersion: "",
  };
  Object.defineProperty(request, "cf", { value: cf, enumerable: true });
  return { request, finish };
}

// `onStop(cut)` subscribes `cut` to whatever ends the response early and returns the function
// that unsubscribes: once `cut` is called, the rest of the body is abandoned and the connection cut.
export async function writeWebResponse(response, res, { head, onStop = null }) {
  const headers = [];
  for (const [name, value] of response.headers) if (name !== "set-cookie") headers.push(name, value);
  for (const cookie of response.headers.getSetCookie()) headers.push("set-cookie", cookie);
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (head || response.body === null) {
    await response.body?.cancel();
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const aborted = new Promise((resolve) => res.once("close", resolve));
  // Subscribed once, and unsubscribed at the end: racing every read against a long-lived promise
  // would keep each chunk reachable from it (100 MB of them for a 100 MB body).
  let stopped = false;
  const unsubscribe = onStop?.(() => {
    stopped = true;
    reader.cancel().catch(() => {}); // ends a read still waiting for a producer that is gone
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (stopped) {
        res.destroy(); // the invocation was stopped mid-response: the client sees the connection end
        return;
      }
      if (done) break;
      if (!res.write(value)) {
        const stop = await Promise.race([once(res, "drain").then(() => false), aborted.then(() => true)]);
        if (stop) break;
      }
    }
  } finally {
    unsubscribe?.();
    // An Error, as workerd's cancel reason is when the client goes away: a Worker still writing
    // the body sees its write refused with it (Pyodide cannot raise a bare `undefined`).
    reader.cancel(new Error("Network connection lost.")).catch(() => {});
    res.end();
  }
}

// WebSocket handshakes are completed by `ws` once the Worker has answered 101 with a webSocket:
// the subprotocol is the one the Worker's response names, if any.
const handshakes = new WebSocketServer({
  noServer: true,
  maxPayload: MAX_MESSAGE_BYTES,
  handleProtocols: (offered, req) => (req.chosenProtocol && offered.has(req.chosenProtocol) ? req.chosenProtocol : false),
});

// Joins the client's connection to `end` (the webSocket of the Worker's 101 response).
export function completeUpgrade(req, socket, head, response, onClosed) {
  req.chosenProtocol = response.headers.get("sec-websocket-protocol");
  const end = response.webSocket;
  handshakes.handleUpgrade(req, socket, head, (client) => {
    const peer = end.joinTo({
      send: (data) => client.readyState === client.OPEN && client.send(data),
      close: (code, reason) => client.readyState === client.OPEN && client.close(code, reason),
    });
    client.on("message", (data, isBinary) => {
      const buffer = Buffer.concat(Array.isArray(data) ? data : [data]);
      peer.message(isBinary ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) : buffer.toString("utf8"));
    });
    client.on("close", (code, reason) => {
      peer.close(code, reason.toString("utf8"), true);
      onClosed?.(code);
    });
    client.on("error", (error) => peer.error(error));
  });
}

// A response to an upgrade request that is not 101: written to the raw socket, then closed.
export async function writeRawResponse(socket, response) {
  const body = Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${response.statusText || http.STATUS_CODES[response.status] || ""}`];
  for (const [name, value] of response.headers) if (name !== "content-length" && name !== "transfer-encoding") lines.push(`${name}: ${value}`);
  lines.push(`content-length: ${body.byteLength}`, "connection: close", "", "");
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n")), body]));
}

export function startServer({ port, host, handle, upgrade = null }) {
  const server = http.createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("Internal Server Error");
      process.stderr.write(`[pyworker] request handling failed: ${error?.stack ?? error}\n`);
    });
  });
  // Long, as the edge keeps client connections: the idle timer is a timer, and while the
  // Worker holds the event loop (seconds of CPU in Python) it fires late, all at once, and
  // would close connections whose next request has already arrived unread (clients then see
  // "connection reset"). 65 s is longer than any such hold in the tests.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => {});
    if (!upgrade) return socket.destroy();
    upgrade(req, socket, head).catch((error) => {
      socket.destroy();
      process.stderr.write(`[pyworker] upgrade handling failed: ${error?.stack ?? error}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
