import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { loadConfig } from "../lib/config.mjs";

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
