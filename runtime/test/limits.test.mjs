// Platform limits per invocation (issue 11, item 4), each tripped on purpose, with production's
// errors (runtime/lib/limits.mjs names the sources): CPU time (`[limits] cpu_ms`; workerd raises
// CpuLimitExceeded in Python through SIGXCPU, src/pyodide/internal/introspection.py, and the
// client gets error 1102 with status 503), memory (128 MB per isolate; the isolate is replaced),
// subrequests (`[limits] subrequests`), D1 values, parameters and queries per invocation
// (d1/platform/limits), KV's one write per second per key (kv/platform/limits: a burst of two,
// then workerd's "KV PUT failed: 429 Too Many Requests", src/workerd/api/kv.c++) and queue
// message sizes (queues/platform/limits).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { limitsFor } from "../lib/limits.mjs";
import { startWorker, wranglerToml } from "../testing/worker-process.mjs";

const ENTRY = `
import json
import time

from workers import Response, WorkerEntrypoint


def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = request.url.split("/", 3)[3]
        if path == "spin":
            spin(10)
            return Response("finished")
        if path == "spin-and-catch":
            try:
                spin(10)
            except Exception:
                pass  # CpuLimitExceeded is a BaseException: this does not stop it
            return Response("finished")
        if path == "forever":
            while True:  # swallows CpuLimitExceeded: the runtime must end this isolate itself
                try:
                    spin(1)
                except BaseException:
                    pass
        if path == "stream":
            from js import TransformStream, TextEncoder

            pipe = TransformStream.new()
            writer = pipe.writable.getWriter()

            async def produce():
                for i in range(1000):
                    await writer.write(TextEncoder.new().encode(f"chunk {i}\\n"))
                    spin(0.05)

            self.ctx.waitUntil(produce())
            return Response(pipe.readable)
        if path == "light":
            return Response("ok")
        if path == "hog":
            hog = [bytearray(1024 * 1024) for _ in range(160)]
            return Response(str(len(hog)))
        if path == "kv-thrice":
            await self.env.KV.put("same-key", "1")
            await self.env.KV.put("same-key", "2")
            try:
                await self.env.KV.put("same-key", "3")
            except Exception as error:
                return Response(str(error), status=429)
            return Response("all written")
        if path == "kv-other-keys":
            await self.env.KV.put("key-a", "1")
            await self.env.KV.put("key-b", "1")
            return Response("ok")
        if path == "subrequests":
            done = 0
            try:
                for i in range(30):
                    await self.env.KV.get(f"k{i}")
                    done += 1
            except Exception as error:
                return Response(json.dumps({"done": done, "error": str(error)}))
            return Response(json.dumps({"done": done}))
        if path == "d1":
            errors = []
            select = self.env.DB.prepare("SELECT ? AS v")
            for statement in [select.bind("x" * 2_000_001), select.bind("x" * 2_000_000)]:
                try:
                    await statement.first("v")
                    errors.append(None)
                except Exception as error:
                    errors.append(str(error))
            try:
                await self.env.DB.prepare("SELECT " + ", ".join("?" * 101)).bind(*range(101)).all()
                errors.append(None)
            except Exception as error:
                errors.append(str(error))
            return Response(json.dumps(errors))
        if path == "form":
            form = await request.form_data()
            return Response(str(form["file"].size))
        if path == "kv-sizes":
            errors = []
            attempts = [
                lambda: self.env.KV.put("k" * 513, "v"),
                lambda: self.env.KV.put("k", "v", metadata={"m": "x" * 1100}),
                lambda: self.env.KV.put("k", "v", expirationTtl=30),
                lambda: self.env.KV.put("k", "v" * (25 * 1024 * 1024 + 1)),
            ]
            for attempt in attempts:
                try:
                    await attempt()
                    errors.append(None)
                except Exception as error:
                    errors.append(str(error))
            return Response(json.dumps(errors))
        if path == "r2-sizes":
            errors = []
            try:
                await self.env.FILES.put("k" * 1025, "v")
                errors.append(None)
            except Exception as error:
                errors.append(str(error))
            upload = await self.env.FILES.createMultipartUpload("multi")
            try:
                await upload.uploadPart(10001, "x")
                errors.append(None)
            except Exception as error:
                errors.append(str(error))
            first = await upload.uploadPart(1, "x" * 1024)
            last = await upload.uploadPart(2, "y" * 1024)
            try:
                await upload.complete([first, last])
                errors.append(None)
            except Exception as error:
                errors.append(str(error))
            return Response(json.dumps(errors))
        if path == "d1-many":
            select = self.env.DB.prepare("SELECT 1")
            try:
                await self.env.DB.batch([select] * 1001)
            except Exception as error:
                return Response(str(error))
            return Response("all ran")
        if path == "queue-big":
            errors = []
            for body in ["x" * 128_001, "x" * 1000]:
                try:
                    await self.env.JOBS.send(body, content_type="text")
                    errors.append(None)
                except Exception as error:
                    errors.append(str(error))
            try:
                await self.env.JOBS.sendBatch([{"body": i} for i in range(101)])
                errors.append(None)
            except Exception as error:
                errors.append(str(error))
            return Response(json.dumps(errors))
        return Response("unknown", status=404)
`;

const WRANGLER = wranglerToml({
  name: "limits",
  extra: `
[limits]
cpu_ms = 3000
subrequests = 25

[[kv_namespaces]]
binding = "KV"
id = "limits-kv"

[[r2_buckets]]
binding = "FILES"
bucket_name = "limits-files"

[[d1_databases]]
binding = "DB"
database_name = "limits"
database_id = "limits-db"

[[queues.producers]]
binding = "JOBS"
queue = "limits-jobs"
`,
});

describe("limits per invocation, tripped", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ wrangler: WRANGLER, entry: ENTRY });
  });
  after(() => worker?.stop());

  const get = (path) => fetch(`${worker.url}/${path}`);
  async function servedAgain(deadline = Date.now() + 15_000) {
    for (;;) {
      const text = await (await get("light")).text();
      if (text === "ok" || Date.now() > deadline) return text;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  test("over [limits] cpu_ms, Python is stopped and the client gets error 1102 with a 503", async () => {
    for (const path of ["spin", "spin-and-catch"]) {
      const started = Date.now();
      const response = await get(path);
      assert.equal(response.status, 503, path);
      assert.match(await response.text(), /Error 1102.*Worker exceeded resource limits/);
      assert.ok(Date.now() - started < 8000, `${path} ran ${Date.now() - started} ms: it was not stopped at 3 s of CPU`);
    }
    await worker.waitForOutput(/GET \/spin: Worker exceeded CPU time limit\./);
    // The runtime serves on. On a loaded machine the stopped code may unwind slowly enough to be
    // ended with its isolate (the second signal); a request in flight then fails, as in workerd,
    // and the next one runs in a fresh isolate.
    assert.equal(await servedAgain(), "ok");
    await worker.waitForOutput(/GET \/light 200 \(cpu \d+ ms, memory [\d.]+ MB, 0 subrequests/);
  });

  test("code that swallows CpuLimitExceeded and runs on ends with its isolate; the runtime serves on", async () => {
    const started = Date.now();
    const response = await get("forever");
    assert.equal(response.status, 503);
    assert.ok(Date.now() - started < 8000, `answered after ${Date.now() - started} ms`);
    await worker.waitForOutput(/the Python isolate was lost \(Error: Worker exceeded CPU time limit\. \(the code ran on/);
    assert.equal(await (await get("light")).text(), "ok");
  });

  test("a streamed body whose producer goes over the CPU limit is cut off, not left hanging", async () => {
    const response = await get("stream");
    assert.equal(response.status, 200);
    const read = response.text().then(
      () => "ended",
      () => "cut",
    );
    const outcome = await Promise.race([read, new Promise((resolve) => setTimeout(() => resolve("hanging"), 15_000))]);
    assert.notEqual(outcome, "hanging");
    assert.equal(await (await get("light")).text(), "ok");
  });

  test("over 128 MB the isolate is replaced; the client gets 1102 and the next request a fresh isolate", async () => {
    const response = await get("hog");
    assert.equal(response.status, 503);
    await worker.waitForOutput(/the Python isolate was lost \(Error: Worker exceeded memory limit\.\)/);
    assert.equal(await (await get("light")).text(), "ok");
  });

  test("a form parsed whole counts towards memory: its body and its parts, while it parses", async () => {
    const post = (megabytes) => {
      const form = new FormData();
      form.append("file", new Blob([Buffer.alloc(megabytes * 1e6)]), "f.bin");
      return fetch(`${worker.url}/form`, { method: "POST", body: form });
    };
    const small = await post(20); // 21 MB of isolate + 2 x 20 MB
    assert.deepEqual([small.status, await small.text()], [200, "20000000"]);
    const large = await post(60); // 21 MB + 2 x 60 MB: over 128 MB
    assert.equal(large.status, 503);
    await worker.waitForOutput(/POST \/form: Worker exceeded memory limit\./);
  });

  test("over [limits] subrequests, the next binding call raises production's error", async () => {
    const result = await (await get("subrequests")).json();
    assert.deepEqual(result, {
      done: 25,
      error: "Error: Too many subrequests by single Worker invocation. To configure this limit, refer to https://developers.cloudflare.com/workers/platform/limits/",
    });
  });

  test("a third KV write to one key within a second is a 429; other keys are not", async () => {
    const thrice = await get("kv-thrice");
    assert.equal(thrice.status, 429);
    assert.match(await thrice.text(), /KV PUT failed: 429 Too Many Requests/);
    assert.equal(await (await get("kv-other-keys")).text(), "ok");
  });

  test("R2 refuses keys over 1024 bytes, part numbers over 10,000 and parts under 5 MiB but the last", async () => {
    const [key, partNumber, smallPart] = await (await get("r2-sizes")).json();
    assert.match(key, /put: The specified object name is not valid\. \(10020\)/);
    assert.match(partNumber, /Part number must be between 1 and 10000/);
    assert.match(smallPart, /Your proposed upload is smaller than the minimum allowed object size/);
  });

  test("D1 refuses values over 2 MB and statements with more than 100 bound parameters", async () => {
    const [tooBig, justFits, tooManyParameters] = await (await get("d1")).json();
    assert.match(tooBig, /D1_ERROR: string or blob too big: SQLITE_TOOBIG/);
    assert.equal(justFits, null);
    assert.match(tooManyParameters, /D1_ERROR: too many SQL variables/);
  });

  test("more than 1,000 D1 queries in one invocation are refused (a batch counts each statement)", async () => {
    assert.equal(await (await get("d1-many")).text(), "Error: D1_ERROR: Too many API requests by single worker invocation.");
  });

  test("queue messages over 128 KB and batches over 100 messages are refused", async () => {
    const [big, small, batch] = await (await get("queue-big")).json();
    assert.match(big, /Queue send failed: message length of \d+ bytes exceeds limit of 128000/);
    assert.equal(small, null);
    assert.match(batch, /Queue sendBatch failed: batch message count of 101 exceeds limit of 100/);
  });
});

// Sending 25 MiB costs more than the 3 s of CPU the first Worker has: this one has the default 30 s.
// (Not a typed array: the SDK's python_to_rpc walks those element by element in Python, about
// 1.2 s of CPU per MiB, and 25 MiB goes over even 30 s, as it would in production.)
describe("KV's size limits", () => {
  let roomy;
  before(async () => {
    roomy = await startWorker({ wrangler: WRANGLER.replace("cpu_ms = 3000\n", ""), entry: ENTRY });
  });
  after(() => roomy?.stop());

  test("KV refuses keys over 512 bytes, metadata over 1024, TTLs under 60 s and values over 25 MiB", async () => {
    const [key, metadata, ttl, value] = await (await fetch(`${roomy.url}/kv-sizes`)).json();
    assert.match(key, /KV PUT failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512/);
    assert.match(metadata, /KV PUT failed: 413 Metadata length of \d+ exceeds limit of 1024/);
    assert.match(ttl, /KV PUT failed: 400 Invalid expiration_ttl of 30/);
    assert.match(value, /KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400/);
  });

});

test("limits come from [limits] and the plan, within production's bounds", () => {
  assert.equal(limitsFor({}, "paid").cpuMs, 30_000);
  assert.equal(limitsFor({ cpu_ms: 300_000 }, "paid").cpuMs, 300_000);
  assert.throws(() => limitsFor({ cpu_ms: 300_001 }, "paid"), /cpu_ms must be an integer from 1 to 300000/);
  assert.throws(() => limitsFor({ cpu_ms: 50 }, "free"), /cannot be set on the Workers Free plan/);
  assert.equal(limitsFor({}, "paid").subrequests, 10_000);
  assert.equal(limitsFor({}, "free").d1Queries, 50);
  assert.equal(limitsFor({}, "free").externalSubrequests, 50);
  assert.throws(() => limitsFor({}, "enterprise"), /--workers-plan must be one of paid, free/);
});
