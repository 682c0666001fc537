// JSPI parity (issue 11, item 3): workerd runs Pyodide with WebAssembly stack switching, so
// Python code can block on a promise with pyodide.ffi.run_sync (Cloudflare's in-Worker binding
// tests need it). The runtime gets it however it is started (on Node 20 it restarts itself with
// the flag), and refuses to start without it rather than run a Worker production would run
// differently.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jspiAvailable } from "../lib/jspi.mjs";
import { startWorker, wranglerToml } from "../testing/worker-process.mjs";

const WRANGLER = wranglerToml({ name: "jspi" });

const ENTRY = `
import js
from pyodide.ffi import can_run_sync, run_sync
from workers import Response, WorkerEntrypoint


def blocking_read():
    # A plain function that blocks on a promise, as synchronous library code would.
    return run_sync(js.Promise.resolve(42))


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response(f"{can_run_sync()} {blocking_read()}")
`;

test("run_sync works in a handler, as under workerd", async () => {
  const worker = await startWorker({ wrangler: WRANGLER, entry: ENTRY });
  try {
    const response = await fetch(worker.url);
    assert.equal(response.status, 200, worker.output());
    assert.equal(await response.text(), "True 42");
  } finally {
    await worker.stop();
  }
});

test("run_sync works when Node is started without a flag: the runtime restarts itself with it", async () => {
  const worker = await startWorker({ wrangler: WRANGLER, entry: ENTRY, nodeFlags: [] });
  try {
    assert.equal(await (await fetch(worker.url)).text(), "True 42");
  } finally {
    await worker.stop();
  }
});

const jspiByDefault = jspiAvailable() && "this Node.js has stack switching on by default";

test("with stack switching turned off the runtime refuses to start, in one line", { skip: jspiByDefault }, async () => {
  await assert.rejects(
    startWorker({ wrangler: WRANGLER, entry: ENTRY, nodeFlags: ["--no-experimental-wasm-stack-switching"] }),
    /WebAssembly stack switching \(JSPI\) is off in this Node\.js v[\d.]+; production runs Python Workers with it\./,
  );
});
