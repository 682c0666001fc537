// The HTTP front door: node:http in, a web Request to the Python Worker, its Response streamed
// back out. Bodies stay streams with backpressure in both directions.
import http from "node:http";
import { once } from "node:events";
import { registerKnownLength } from "./streams.mjs";

const NO_BODY_METHODS = new Set(["GET", "HEAD"]);
const BODY_HIGH_WATER_MARK = 64 * 1024;

// The request body as a web stream with byte-counted backpressure. When the Worker gives up on
// the body (cancels it, or answers without reading it) the rest is read and dropped rather than
// the socket destroyed, so the client still receives the response, as from a real edge.
function requestBody(req) {
  let open = true;
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
export function toWebRequest(req, { port }) {
  const url = new URL(req.url, `http://${req.headers.host ?? `127.0.0.1:${port}`}`);
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  let body = null;
  let finish = () => {};
  if (!NO_BODY_METHODS.has(req.method)) {
    const { stream, drain } = requestBody(req);
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

export async function writeWebResponse(response, res, { head }) {
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
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        const stop = await Promise.race([once(res, "drain").then(() => false), aborted.then(() => true)]);
        if (stop) break;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
    res.end();
  }
}

export function startServer({ port, host, handle }) {
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
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
