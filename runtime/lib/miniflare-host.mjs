// miniflare provides the real binding simulators (D1, R2, KV, Queues), persisted under
// DIR/v3/<type> exactly where wrangler dev and `wrangler d1 migrations apply --local` keep them.
// They are attached to a small JS shim worker (shim/shim-worker.js) that makes binding calls on
// the Python Worker's behalf and consumes its queues.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare, Response as MiniflareResponse } from "miniflare";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHIM_DIR = path.join(HERE, "shim");
const SHIM_MODULES = ["shim-worker.js", "codec.js", "respond.js", "r2.js", "d1.js", "kv.js", "queue-producer.js"];

// The shim's own compatibility date: it must be one this workerd release supports, whatever
// date the Python Worker declares.
const SHIM_COMPATIBILITY_DATE = "2026-04-20";

export async function startMiniflare({ config, persistRoot, onQueueBatch }) {
  const queueConsumers = Object.fromEntries(
    config.queueConsumers.map((c) => [
      c.queue,
      {
        maxBatchSize: c.maxBatchSize,
        maxBatchTimeout: c.maxBatchTimeout,
        maxRetries: c.maxRetries,
        deadLetterQueue: c.deadLetterQueue,
        retryDelay: c.retryDelay,
      },
    ]),
  );
  const mf = new Miniflare({
    log: new Log(LogLevel.WARN),
    host: "127.0.0.1",
    port: 0,
    // No network: use miniflare's placeholder request.cf instead of downloading one.
    cf: false,
    d1Persist: path.join(persistRoot, "v3", "d1"),
    r2Persist: path.join(persistRoot, "v3", "r2"),
    kvPersist: path.join(persistRoot, "v3", "kv"),
    workers: [
      {
        name: config.name,
        compatibilityDate: SHIM_COMPATIBILITY_DATE,
        modulesRoot: SHIM_DIR,
        modules: SHIM_MODULES.map((name) => ({ type: "ESModule", path: path.join(SHIM_DIR, name) })),
        d1Databases: Object.fromEntries(config.d1.map((d) => [d.binding, d.id])),
        r2Buckets: Object.fromEntries(config.r2.map((b) => [b.binding, b.id])),
        kvNamespaces: Object.fromEntries(config.kv.map((k) => [k.binding, k.id])),
        queueProducers: Object.fromEntries(
          config.queueProducers.map((p) => [p.binding, { queueName: p.queue, deliveryDelay: p.deliveryDelay }]),
        ),
        queueConsumers,
        serviceBindings: {
          async PYWORKER_HOST(request) {
            const outcome = await onQueueBatch(await request.json());
            return new MiniflareResponse(JSON.stringify(outcome), { headers: { "content-type": "application/json" } });
          },
        },
      },
    ],
  });
  return { mf, url: await mf.ready };
}

// Applies the .sql files of migrations_dir that the migrations table does not list yet, in
// name order, recording each like wrangler does, so either tool sees the other's work.
export async function applyMigrations(db, { migrationsDir, migrationsTable }) {
  if (!fs.existsSync(migrationsDir)) return [];
  await db.exec(
    `CREATE TABLE IF NOT EXISTS ${migrationsTable}(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL);`,
  );
  const { results } = await db.prepare(`SELECT name FROM ${migrationsTable}`).all();
  const applied = new Set(results.map((r) => r.name));
  const pending = fs
    .readdirSync(migrationsDir)
    .filter((f) => f.endsWith(".sql") && !applied.has(f))
    .sort();
  for (const name of pending) {
    const sql = fs.readFileSync(path.join(migrationsDir, name), "utf8");
    // One batch is one transaction: a migration that fails half way leaves nothing behind and is
    // not recorded, as with wrangler.
    const statements = splitSql(sql).map((statement) => db.prepare(statement));
    statements.push(db.prepare(`INSERT INTO ${migrationsTable} (name) VALUES (?)`).bind(name));
    try {
      await db.batch(statements);
    } catch (error) {
      throw new Error(`migration ${name} failed: ${error.message}`);
    }
  }
  return pending;
}

// A migration file's statements. Semicolons end statements except inside quotes, comments and
// the BEGIN ... END body of a CREATE TRIGGER (where CASE ... END nests).
export function splitSql(sql) {
  const statements = [];
  let current = "";
  let depth = 0;
  let i = 0;
  const isTrigger = () => /^\s*CREATE\s+(TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(current);
  while (i < sql.length) {
    const rest = sql.slice(i);
    const quoted = /^'(?:[^']|'')*'|^"(?:[^"]|"")*"|^`[^`]*`|^\[[^\]]*\]/.exec(rest);
    if (quoted) {
      current += quoted[0];
      i += quoted[0].length;
      continue;
    }
    const comment = /^--[^\n]*|^\/\*[\s\S]*?\*\//.exec(rest);
    if (comment) {
      current += " ";
      i += comment[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word) {
      const upper = word[0].toUpperCase();
      if ((upper === "BEGIN" || upper === "CASE") && isTrigger()) depth += 1;
      if (upper === "END" && depth > 0) depth -= 1;
      current += word[0];
      i += word[0].length;
      continue;
    }
    if (sql[i] === ";" && depth === 0) {
      if (current.trim()) statements.push(current.trim());
      current = "";
    } else {
      current += sql[i];
    }
    i += 1;
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}
