import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { ConfigError, findConfigFile, loadConfig } from "../lib/config.mjs";

const probe = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../tests/probe_worker/wrangler.toml");

test("queue consumers take production defaults where wrangler.toml is silent", () => {
  const config = loadConfig(probe);
  const dlq = config.queueConsumers.find((c) => c.queue === "probe-dlq");
  assert.deepEqual(
    { size: dlq.maxBatchSize, timeout: dlq.maxBatchTimeout, retries: dlq.maxRetries },
    { size: 10, timeout: 1, retries: 3 },
  );
  const jobs = config.queueConsumers.find((c) => c.queue === "probe-jobs");
  assert.equal(jobs.maxRetries, 2);
  assert.equal(jobs.deadLetterQueue, "probe-dlq");
});

test("D1 is keyed by database_id, the id wrangler uses locally", () => {
  const [db] = loadConfig(probe).d1;
  assert.equal(db.id, "11111111-2222-3333-4444-555555555555");
  assert.equal(db.migrationsTable, "d1_migrations");
});

function configWith(extra) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "config-"));
  const file = path.join(dir, "wrangler.toml");
  fs.writeFileSync(file, `name = "w"\nmain = "src/entry.py"\ncompatibility_date = "2026-08-22"\ncompatibility_flags = ["python_workers"]\n${extra}`);
  return file;
}

test("[assets] takes production's defaults and resolves the directory beside wrangler.toml", () => {
  const file = configWith('[assets]\ndirectory = "public"\nrun_worker_first = ["/api/*"]\n');
  assert.deepEqual(loadConfig(file).assets, {
    directory: path.join(path.dirname(file), "public"),
    binding: null,
    runWorkerFirst: ["/api/*"],
    htmlHandling: "auto-trailing-slash",
    notFoundHandling: "none",
  });
  assert.equal(loadConfig(configWith("")).assets, null);
});

test("an [assets] binding is read", () => {
  assert.equal(loadConfig(configWith('[assets]\ndirectory = "public"\nbinding = "ASSETS"\n')).assets.binding, "ASSETS");
});

test("[[vectorize]] bindings are read with their index; one without an index_name is refused", () => {
  const config = loadConfig(configWith('[[vectorize]]\nbinding = "VECTORS"\nindex_name = "docs"\n'));
  assert.deepEqual(config.vectorize, [{ binding: "VECTORS", indexName: "docs" }]);
  assert.throws(() => loadConfig(configWith('[[vectorize]]\nbinding = "VECTORS"\n')), /needs a "binding" and an "index_name"/);
  assert.throws(
    () => loadConfig(configWith('[[vectorize]]\nbinding = "VECTORS"\nindex_name = "../d1/x"\n')),
    /index_name "..\/d1\/x" is not an index name/,
  );
});

test("bindings the runtime cannot emulate are listed, not dropped", () => {
  const config = loadConfig(
    configWith('[[vectorize]]\nbinding = "VECTORS"\nindex_name = "i"\n[browser]\nbinding = "BROWSER"\n'),
  );
  assert.deepEqual(
    config.notEmulated.map((b) => [b.binding, b.type, b.className]),
    [
      ["BROWSER", "Browser Rendering", "Fetcher"],
    ],
  );
});

test("wrangler.jsonc is read like wrangler.toml, comments and trailing commas included", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "config-"));
  const file = path.join(dir, "wrangler.jsonc");
  fs.writeFileSync(
    file,
    '{\n  // a comment\n  "name": "w",\n  "main": "src/entry.py",\n  "compatibility_date": "2026-08-22", "compatibility_flags": ["python_workers"],\n' +
      '  "kv_namespaces": [{ "binding": "KV", "id": "k" },],\n}\n',
  );
  const config = loadConfig(file);
  assert.deepEqual([config.name, config.kv.map((k) => k.binding)], ["w", ["KV"]]);
  // Without --config, wrangler's order: wrangler.json, wrangler.jsonc, wrangler.toml.
  assert.equal(findConfigFile(dir), file);
  fs.writeFileSync(path.join(dir, "wrangler.toml"), "");
  assert.equal(findConfigFile(dir), file);
  fs.writeFileSync(path.join(dir, "wrangler.json"), "{}");
  assert.equal(findConfigFile(dir), path.join(dir, "wrangler.json"));
  // A byte-order mark is ignored; a section of the wrong shape is a ConfigError, not a crash.
  fs.writeFileSync(file, '\uFEFF{ "name": "w", "main": "m.py", "compatibility_date": "2026-08-22", "compatibility_flags": ["python_workers"] }');
  assert.equal(loadConfig(file).name, "w");
  fs.writeFileSync(file, '{ "name": "w", "main": "m.py", "compatibility_date": "2026-08-22", "compatibility_flags": ["python_workers"], "vectorize": {} }');
  assert.throws(() => loadConfig(file), (error) => error instanceof ConfigError && /"vectorize" must be a list/.test(error.message));
  fs.writeFileSync(file, '{ "name": "w", "main": }');
  assert.throws(() => loadConfig(file), (error) => error instanceof ConfigError && /wrangler\.jsonc:1: ValueExpected/.test(error.message));
});
