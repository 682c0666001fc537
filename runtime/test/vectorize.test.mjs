// Vectorize (issue 13): the binding a Python Worker gets for `[[vectorize]]` behaves as
// VectorizeIndexImpl does in workerd (src/cloudflare/internal/vectorize-api.ts) against the
// service's documented rules (developers.cloudflare.com/vectorize: platform/limits,
// reference/metadata-filtering, reference/client-api): writes become visible after a delay,
// queries filter on indexed metadata only, and production's limits and error messages apply.
// Every call goes through the workers SDK's binding wrapper from Python, as the app's do, and an
// error reaches Python as workerd's does: a JsException whose text is "Error: <message>".
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { startWorker, wranglerToml } from "../testing/worker-process.mjs";

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "bin", "vectorize.mjs");
const DELAY_MS = 400;

const ENTRY = `
import json

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        call = json.loads(await request.text())
        method = getattr(self.env.VECTORS, call["method"])
        try:
            result = await method(*call.get("args", []), **call.get("kwargs", {}))
        except Exception as error:
            return Response(json.dumps({"error": str(error)}))
        return Response(json.dumps({"result": result}))
`;

let worker;
let state;

function cli(...args) {
  return execFileSync(process.execPath, [CLI, ...args, "--persist-to", state], { encoding: "utf8" });
}

async function call(method, args = [], kwargs = {}) {
  const response = await fetch(worker.url, { method: "POST", body: JSON.stringify({ method, args, kwargs }) });
  return response.json();
}

const settle = () => new Promise((resolve) => setTimeout(resolve, DELAY_MS + 100));
const vector = (id, values, metadata, namespace) => ({ id, values, ...(metadata ? { metadata } : {}), ...(namespace ? { namespace } : {}) });

before(async () => {
  worker = await startWorker({
    wrangler: wranglerToml({ name: "vectors", extra: '\n[[vectorize]]\nbinding = "VECTORS"\nindex_name = "docs"\n' }),
    entry: ENTRY,
    args: ["--vectorize-delay-ms", String(DELAY_MS), "--test-mode"],
  });
  state = /state (\S+)\/v3/.exec(worker.output())[1];
  cli("create", "docs", "--dimensions=4", "--metric=cosine");
  cli("create-metadata-index", "docs", "--property-name=owner", "--type=string");
  cli("create-metadata-index", "docs", "--property-name=size", "--type=number");
});

after(() => worker?.stop());

test("management commands mirror wrangler vectorize's and refuse what it refuses", () => {
  assert.deepEqual(JSON.parse(cli("list-metadata-index", "docs")), [
    { propertyName: "owner", indexType: "string" },
    { propertyName: "size", indexType: "number" },
  ]);
  const info = JSON.parse(cli("info", "docs"));
  assert.deepEqual(info.config, { dimensions: 4, metric: "cosine" });
  const refused = (...args) => assert.throws(() => cli(...args), (error) => error.status === 1);
  refused("create", "docs", "--dimensions=4", "--metric=cosine"); // exists
  refused("create", "other", "--dimensions=1537", "--metric=cosine");
  refused("create", "other", "--dimensions=4", "--metric=manhattan");
  refused("create-metadata-index", "docs", "--property-name=owner", "--type=string"); // exists
  refused("create-metadata-index", "docs", "--property-name=x", "--type=object");
  refused("create", "other", "--dimensions=0x10", "--metric=cosine");
  // No name leaves the state's vectorize/ folder, whatever the command.
  for (const command of ["info", "get", "delete", "list-metadata-index"]) refused(command, "../d1/anything");
  refused("delete", "../../../victim");
  refused("create", "Docs", "--dimensions=4", "--metric=cosine");
});

test("writes answer a mutation id at once and become visible to reads after the delay, in order", async () => {
  const written = await call("upsert", [
    [
      vector("a1", [1, 0, 0, 0], { owner: "alice", size: 10, note: "first" }),
      vector("a2", [0.9, 0.1, 0, 0], { owner: "alice", size: 20 }),
      vector("b1", [1, 0, 0, 0], { owner: "bob", size: 30 }, "ns1"),
    ],
  ]);
  assert.match(written.result.mutationId, /^[0-9a-f-]{36}$/);
  assert.equal((await call("query", [[1, 0, 0, 0]])).result.count, 0, "visible before the delay");
  await settle();
  const info = (await call("describe")).result;
  assert.equal(info.vectorCount, 3);
  assert.equal(info.dimensions, 4);
  assert.equal(info.processedUpToMutation, written.result.mutationId);
  assert.ok(!Number.isNaN(Date.parse(info.processedUpToDatetime)));
});

test("query ranks by cosine similarity and returns what was asked for", async () => {
  const all = (await call("query", [[1, 0, 0, 0]], { topK: 3, returnMetadata: "all", returnValues: true })).result;
  assert.deepEqual(all.matches.map((m) => m.id), ["a1", "b1", "a2"]);
  assert.ok(Math.abs(all.matches[0].score - 1) < 1e-6);
  assert.deepEqual(all.matches[0].metadata, { owner: "alice", size: 10, note: "first" });
  assert.deepEqual(all.matches[0].values, [1, 0, 0, 0]);
  assert.equal(all.matches[1].namespace, "ns1");
  const bare = (await call("query", [[1, 0, 0, 0]], { topK: 1 })).result;
  assert.deepEqual(Object.keys(bare.matches[0]).sort(), ["id", "score"]);
  const indexed = (await call("query", [[1, 0, 0, 0]], { topK: 1, returnMetadata: "indexed" })).result;
  assert.deepEqual(indexed.matches[0].metadata, { owner: "alice", size: 10 });
  const defaults = (await call("query", [[0, 0, 0, 1]])).result;
  assert.equal(defaults.count, 3, "topK defaults to 5");
  const inNamespace = (await call("query", [[1, 0, 0, 0]], { namespace: "ns1" })).result;
  assert.deepEqual(inNamespace.matches.map((m) => m.id), ["b1"]);
  const byId = (await call("queryById", ["a2"], { topK: 1 })).result;
  assert.equal(byId.matches[0].id, "a2");
});

test("filters use indexed properties with the documented operators", async () => {
  const ids = async (filter) => (await call("query", [[1, 0, 0, 0]], { topK: 10, filter })).result.matches.map((m) => m.id).sort();
  assert.deepEqual(await ids({ owner: "alice" }), ["a1", "a2"]);
  assert.deepEqual(await ids({ owner: { $eq: "bob" } }), ["b1"]);
  assert.deepEqual(await ids({ owner: { $ne: "alice" } }), ["b1"]);
  assert.deepEqual(await ids({ owner: { $in: ["bob", "carol"] } }), ["b1"]);
  assert.deepEqual(await ids({ owner: { $nin: ["bob"] } }), ["a1", "a2"]);
  assert.deepEqual(await ids({ size: { $gte: 20, $lt: 30 } }), ["a2"]);
  assert.deepEqual(await ids({ owner: "alice", size: { $gt: 10 } }), ["a2"]);
  // Not indexed: nothing is filtered on it, so nothing matches.
  assert.deepEqual(await ids({ note: "first" }), []);
  const refused = async (filter, pattern) =>
    assert.match((await call("query", [[1, 0, 0, 0]], { filter })).error, pattern);
  await refused({}, /invalid filter: filter must be a non-empty object/);
  await refused({ size: { $gt: 1, $gte: 2 } }, /only a lower and an upper bound may be combined/);
  await refused({ owner: { $regex: "a" } }, /unknown operator \$regex/);
  await refused({ owner: { $in: [] } }, /\$in takes a non-empty array/);
  await refused({ owner: { $in: ["x".repeat(2100)] } }, /less than 2048 bytes/);
  await refused({ $owner: "a" }, /cannot contain '"' or start with '\$'/);
});

test("a metadata index covers only vectors written after it exists", async () => {
  await call("upsert", [[vector("c1", [0, 1, 0, 0], { team: "red" })]]);
  await settle();
  cli("create-metadata-index", "docs", "--property-name=team", "--type=string");
  await call("upsert", [[vector("c2", [0, 1, 0, 0], { team: "red" })]]);
  await settle();
  const found = (await call("query", [[0, 1, 0, 0]], { filter: { team: "red" } })).result;
  assert.deepEqual(found.matches.map((m) => m.id), ["c2"]);
});

test("insert keeps the first vector of an id, upsert replaces it, and deleteByIds removes it", async () => {
  await call("insert", [[vector("a1", [0, 0, 1, 0], { owner: "mallory" })]]);
  await call("upsert", [[vector("a2", [0, 0, 0, 1], { owner: "alice", size: 21 })]]);
  await settle();
  const [a1, a2] = (await call("getByIds", [["a1", "a2", "nope"]])).result;
  assert.deepEqual(a1.values, [1, 0, 0, 0]);
  assert.equal(a1.metadata.owner, "alice");
  assert.deepEqual(a2.values, [0, 0, 0, 1]);
  assert.equal(a2.metadata.size, 21);
  const deleted = await call("deleteByIds", [["a2", "nope"]]);
  assert.match(deleted.result.mutationId, /^[0-9a-f-]{36}$/);
  assert.equal((await call("getByIds", [["a2"]])).result.length, 1, "a delete is not visible at once either");
  await settle();
  assert.deepEqual((await call("getByIds", [["a2"]])).result, []);
});

test("production's limits and messages", async () => {
  const error = async (method, args, kwargs) => (await call(method, args, kwargs)).error;
  assert.match(
    await error("upsert", [[vector("x", [1, 2, 3])]]),
    /^Error: VECTOR_UPSERT_ERROR \(code = 40012\): invalid vector for id="x", expected 4 dimensions, and got 3 dimensions/,
  );
  assert.match(
    await error("upsert", [[vector("x".repeat(65), [1, 2, 3, 4])]]),
    /^Error: VECTOR_UPSERT_ERROR \(code = 40008\): id too long; max is 64 bytes, got 65 bytes/,
  );
  assert.match(
    await error("query", [[1, 2]]),
    /^Error: VECTOR_QUERY_ERROR \(code = 40006\): invalid query vector, expected 4 dimensions, and got 2 dimensions/,
  );
  assert.match(
    await error("query", [[1, 0, 0, 0]], { topK: 51, returnValues: true }),
    /^Error: VECTOR_QUERY_ERROR \(code = 40025\): with returnValues=true or returnMetadata=all, max top K is 50, but got 51/,
  );
  assert.match(await error("query", [[1, 0, 0, 0]], { topK: 101 }), /topK must be an integer from 1 to 100/);
  assert.match(await error("query", [[1, 0, 0, 0]], { returnMetadata: false }), /\(code = 40026\)/);
  const many = Array.from({ length: 1001 }, (_, i) => vector(`v${i}`, [1, 0, 0, 0]));
  assert.match(await error("insert", [many]), /^Error: VECTOR_INSERT_ERROR: too many vectors in one request: 1001; max is 1000/);
  assert.match(await error("upsert", [[vector("big", [1, 0, 0, 0], { text: "x".repeat(10_300) })]]), /max is 10240 bytes/);
  assert.match(await error("upsert", [[vector("dot", [1, 0, 0, 0], { "a.b": 1 })]]), /invalid metadata key "a.b"/);
  assert.match(await error("upsert", [[vector("nan", [1, 0, 0, "x"])]]), /^Error: VECTOR_UPSERT_ERROR: invalid vector for id="nan"/);
  await settle();
  assert.deepEqual((await call("getByIds", [["x", "big", "dot"]])).result, [], "a refused write stores nothing");
});

test("the index persists across a restart", async () => {
  const before = (await call("describe")).result.vectorCount;
  await worker.restart();
  assert.equal((await call("describe")).result.vectorCount, before);
  assert.equal((await call("getByIds", [["b1"]])).result[0].metadata.owner, "bob");
});

test("a brute-force query is the engine's time, not the Worker's CPU time (production searches elsewhere)", async () => {
  // 200,000 vectors written straight into the index file, in a namespace of their own.
  const db = new Database(path.join(state, "v3", "vectorize", "docs.sqlite"));
  const insert = db.prepare("INSERT INTO vectors (id, namespace, vals, metadata, indexed) VALUES (?, 'bulk', ?, NULL, '{}')");
  db.transaction(() => {
    for (let i = 0; i < 200_000; i++) insert.run(`bulk-${i}`, Buffer.from(Float32Array.of(i % 7, 1, i % 3, 2).buffer));
  })();
  db.close();
  const response = await fetch(worker.url, {
    method: "POST",
    body: JSON.stringify({ method: "query", args: [[1, 1, 1, 1]], kwargs: { topK: 3, namespace: "bulk" } }),
  });
  assert.equal((await response.json()).result.count, 3);
  const trace = await (await fetch(`${worker.url}/__runtime/traces/${response.headers.get("x-pyworker-trace-id")}`)).json();
  const [query] = trace.calls.filter((c) => c.method === "query");
  const engineMs = query.end - query.start;
  assert.ok(engineMs > 100, `the scan took ${engineMs} ms; too fast to tell`);
  assert.ok(trace.cpu_ms < engineMs / 2, `the Worker was charged ${trace.cpu_ms} ms of a ${engineMs} ms scan`);
});
