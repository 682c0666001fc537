import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { Bridge } from "../lib/bindings/bridge.mjs";

// A stand-in for workerd's side of the bridge, on its own thread so that it goes on closing idle
// keep-alive connections while this thread is blocked (as the runtime's thread is while Python
// computes). It answers every call with JSON null.
const SERVER = `
  const http = require("node:http");
  const { parentPort } = require("node:worker_threads");
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.end("null"));
    // Closes the connection once it has been idle a little while, without announcing a
    // keep-alive timeout the client could plan for.
    res.on("finish", () => setTimeout(() => req.socket.destroy(), 50));
  });
  server.keepAliveTimeout = 0;
  server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));
`;

function blockFor(ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Busy: nothing else runs on this thread, as when a Worker spends CPU in Python.
  }
}

test("a call after the event loop was blocked past workerd's keep-alive timeout still goes through", async () => {
  const server = new Worker(SERVER, { eval: true });
  try {
    const [port] = await new Promise((resolve) => server.once("message", (value) => resolve([value])));
    const bridge = new Bridge(`http://127.0.0.1:${port}`);
    // Concurrent calls leave several pooled keep-alive sockets, all of which will go stale.
    await Promise.all(Array.from({ length: 5 }, () => bridge.call("d1", "DB", "first", {})));
    for (let round = 0; round < 5; round += 1) {
      blockFor(300); // the server closes the pooled socket meanwhile; this thread cannot notice
      assert.equal(await bridge.call("d1", "DB", "first", {}), null);
    }
    bridge.agent.destroy();
  } finally {
    await server.terminate();
  }
});
