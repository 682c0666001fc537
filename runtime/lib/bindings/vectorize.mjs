// Vectorize (`[[vectorize]]`, V2 indexes): the binding workerd presents as `VectorizeIndexImpl`
// (src/cloudflare/internal/vectorize-api.ts), with an index kept in SQLite under
// <state>/v3/vectorize/<index_name>.sqlite. wrangler dev has no local Vectorize (miniflare only
// proxies to the remote service), so this is our own model of the service, built from workerd's
// wrapper and the documented limits (developers.cloudflare.com/vectorize/platform/limits,
// reference/metadata-filtering, reference/client-api):
//
// - Indexes are created out of band, as `wrangler vectorize create` does in production:
//   runtime/bin/vectorize.mjs takes the same commands and arguments. Using an index that was
//   never created fails like a missing index does.
// - Mutations (insert, upsert, deleteByIds) answer `{mutationId}` at once and become visible to
//   reads after a delay ("It typically takes a few seconds for inserted vectors to be available
//   for querying"), in order. Code that reads its own writes at once fails here as it would there.
// - Queries are exact (brute force over the namespace); production's scores are approximate
//   unless returnValues is set. Only properties with a metadata index can be filtered on, and only
//   the values they had when the vector was written (strings indexed to their first 64 bytes).
// - Errors carry workerd's format: `VECTOR_QUERY_ERROR (code = 40006): ...`; codes are given
//   where production's are known and left out where they are not.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import Database from "better-sqlite3";

export const LIMITS = {
  maxDimensions: 1536,
  maxIdBytes: 64,
  maxNamespaceBytes: 64,
  maxMetadataBytes: 10 * 1024,
  maxMetadataIndexes: 10,
  indexedStringBytes: 64,
  maxBatch: 1000, // vectors per insert/upsert through the Workers binding
  maxTopK: 100,
  maxTopKWithValuesOrAllMetadata: 50,
  defaultTopK: 5,
  maxFilterBytes: 2048, // "compact JSON representation must be less than 2048 bytes"
  maxFilterKeyChars: 512,
};
export const METRICS = ["cosine", "euclidean", "dot-product"];
export const PROPERTY_TYPES = ["string", "number", "boolean"];
const DEFAULT_VISIBILITY_DELAY_MS = 2000;

export class VectorizeError extends Error {
  constructor(operation, message, code) {
    super(`${operation}_ERROR${typeof code === "number" ? ` (code = ${code})` : ""}: ${message}`);
    this.name = "Error";
  }
}

// A problem with a management command (runtime/bin/vectorize.mjs), worded as wrangler's are.
export class VectorizeCommandError extends Error {}

const bytes = (text) => Buffer.byteLength(text, "utf8");

// Index names as wrangler accepts them; checked wherever a name becomes a path, so no name can
// reach a file outside the state's vectorize/ folder.
export const INDEX_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

function indexFile(persistRoot, indexName) {
  if (typeof indexName !== "string" || !INDEX_NAME.test(indexName)) {
    throw new VectorizeCommandError("index name must be lowercase letters, digits and dashes, at most 64 bytes, starting with a letter or digit");
  }
  return path.join(persistRoot, "v3", "vectorize", `${indexName}.sqlite`);
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metadata_indexes (property TEXT PRIMARY KEY, type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vectors (
  id TEXT PRIMARY KEY,
  namespace TEXT,
  vals BLOB NOT NULL,
  metadata TEXT,
  indexed TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS vectors_namespace ON vectors (namespace);
CREATE TABLE IF NOT EXISTS mutations (
  seq INTEGER PRIMARY KEY,
  mutation_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload BLOB NOT NULL,
  visible_at INTEGER NOT NULL
);
`;

// One index's store. Opened by the binding (lazily, so a Worker whose index does not exist yet
// still starts) and by the management commands.
export class VectorizeIndexStore {
  static open(persistRoot, indexName, { create = null } = {}) {
    const file = indexFile(persistRoot, indexName);
    if (!fs.existsSync(file)) {
      if (!create) return null;
      fs.mkdirSync(path.dirname(file), { recursive: true });
    }
    const store = new VectorizeIndexStore(new Database(file));
    if (create) store.#configure(create);
    return store;
  }

  constructor(db) {
    this.db = db;
    db.pragma("journal_mode = WAL");
    db.exec(SCHEMA);
    const config = Object.fromEntries(db.prepare("SELECT key, value FROM config").all().map((r) => [r.key, r.value]));
    this.dimensions = Number(config.dimensions);
    this.metric = config.metric;
  }

  // Read from the file each time: the management commands apply mutations from another process.
  get lastMutation() {
    return this.db.prepare("SELECT value FROM config WHERE key = 'last_mutation'").get()?.value ?? "";
  }

  get lastMutationAt() {
    return this.db.prepare("SELECT value FROM config WHERE key = 'last_mutation_at'").get()?.value ?? null;
  }

  #configure({ dimensions, metric }) {
    const set = this.db.prepare("INSERT OR REPLACE INTO config (key, value) VALUES (?, ?)");
    this.db.transaction(() => {
      set.run("dimensions", String(dimensions));
      set.run("metric", metric);
      set.run("created_on", new Date().toISOString());
    })();
    this.dimensions = dimensions;
    this.metric = metric;
  }

  close() {
    this.db.close();
  }

  metadataIndexes() {
    return this.db.prepare("SELECT property, type FROM metadata_indexes ORDER BY property").all();
  }

  createdOn() {
    return this.db.prepare("SELECT value FROM config WHERE key = 'created_on'").get()?.value ?? null;
  }

  enqueue(kind, payload, delayMs) {
    const mutationId = randomUUID();
    this.db
      .prepare("INSERT INTO mutations (mutation_id, kind, payload, visible_at) VALUES (?, ?, ?, ?)")
      .run(mutationId, kind, v8.serialize(payload), Date.now() + delayMs);
    return mutationId;
  }

  // Applies, in order, every mutation whose time has come.
  applyDue(now = Date.now()) {
    const due = this.db.prepare("SELECT seq, mutation_id, kind, payload FROM mutations WHERE visible_at <= ? ORDER BY seq").all(now);
    if (!due.length) return;
    const indexes = this.metadataIndexes();
    const put = {
      insert: this.db.prepare("INSERT OR IGNORE INTO vectors (id, namespace, vals, metadata, indexed) VALUES (?, ?, ?, ?, ?)"),
      upsert: this.db.prepare("INSERT OR REPLACE INTO vectors (id, namespace, vals, metadata, indexed) VALUES (?, ?, ?, ?, ?)"),
    };
    const remove = this.db.prepare("DELETE FROM vectors WHERE id = ?");
    const done = this.db.prepare("DELETE FROM mutations WHERE seq = ?");
    const setConfig = this.db.prepare("INSERT OR REPLACE INTO config (key, value) VALUES (?, ?)");
    this.db.transaction(() => {
      for (const { seq, mutation_id: mutationId, kind, payload } of due) {
        const body = v8.deserialize(payload);
        if (kind === "delete") {
          for (const id of body) remove.run(id);
        } else {
          for (const v of body) {
            const indexed = JSON.stringify(indexedValues(v.metadata, indexes));
            const metadata = v.metadata === undefined ? null : JSON.stringify(v.metadata);
            put[kind].run(v.id, v.namespace ?? null, Buffer.from(v.values.buffer, v.values.byteOffset, v.values.byteLength), metadata, indexed);
          }
        }
        done.run(seq);
        setConfig.run("last_mutation", mutationId);
      }
      setConfig.run("last_mutation_at", new Date().toISOString());
    })();
  }

  vectorCount() {
    return this.db.prepare("SELECT COUNT(*) AS n FROM vectors").get().n;
  }

  // Management commands, as `wrangler vectorize create-metadata-index` / `delete-metadata-index`.
  createMetadataIndex(property, type) {
    this.applyDue(); // what was written before the index exists is not in it
    if (!PROPERTY_TYPES.includes(type)) throw new VectorizeCommandError(`--type must be one of ${PROPERTY_TYPES.join(", ")}`);
    checkKey(property, (message) => new VectorizeCommandError(`invalid --property-name: ${message}`));
    const existing = this.metadataIndexes();
    if (existing.some((index) => index.property === property)) {
      throw new VectorizeCommandError(`a metadata index on "${property}" already exists`);
    }
    if (existing.length >= LIMITS.maxMetadataIndexes) {
      throw new VectorizeCommandError(`an index has at most ${LIMITS.maxMetadataIndexes} metadata indexes`);
    }
    // Vectors written before the index existed are not in it (metadata-filtering.mdx).
    this.db.prepare("INSERT INTO metadata_indexes (property, type) VALUES (?, ?)").run(property, type);
  }

  deleteMetadataIndex(property) {
    const { changes } = this.db.prepare("DELETE FROM metadata_indexes WHERE property = ?").run(property);
    if (!changes) throw new VectorizeCommandError(`no metadata index on "${property}"`);
  }
}

// What a vector's metadata contributes to each metadata index, as of when it is written.
function indexedValues(metadata, indexes) {
  const values = {};
  if (!metadata) return values;
  for (const { property, type } of indexes) {
    let value = metadata;
    for (const part of property.split(".")) value = value !== null && typeof value === "object" ? value[part] : undefined;
    if (typeof value !== type) continue;
    values[property] = type === "string" ? truncateUtf8(value, LIMITS.indexedStringBytes) : value;
  }
  return values;
}

function truncateUtf8(text, max) {
  if (bytes(text) <= max) return text;
  let out = "";
  for (const char of text) {
    if (bytes(out + char) > max) break;
    out += char;
  }
  return out;
}

function checkKey(key, fail) {
  if (typeof key !== "string" || key === "") throw fail("keys cannot be empty");
  if (/["]/.test(key) || key.startsWith("$")) throw fail(`key "${key}" cannot contain '"' or start with '$'`);
  if (key.length > LIMITS.maxFilterKeyChars) throw fail(`key is longer than ${LIMITS.maxFilterKeyChars} characters`);
}

function scorer(metric) {
  // Cosine: similarity, higher is closer. Euclidean: distance, lower is closer. Dot product: the
  // negated dot product, lower is closer (best-practices/create-indexes).
  if (metric === "cosine") {
    return {
      better: (a, b) => a > b,
      score(query, queryNorm, v) {
        let dot = 0;
        let norm = 0;
        for (let i = 0; i < v.length; i++) {
          dot += query[i] * v[i];
          norm += v[i] * v[i];
        }
        return queryNorm && norm ? dot / (queryNorm * Math.sqrt(norm)) : 0;
      },
    };
  }
  if (metric === "euclidean") {
    return {
      better: (a, b) => a < b,
      score(query, _, v) {
        let sum = 0;
        for (let i = 0; i < v.length; i++) sum += (query[i] - v[i]) ** 2;
        return Math.sqrt(sum);
      },
    };
  }
  return {
    better: (a, b) => a < b,
    score(query, _, v) {
      let dot = 0;
      for (let i = 0; i < v.length; i++) dot += query[i] * v[i];
      return -dot;
    },
  };
}

const FILTER_SCALARS = new Set(["string", "number", "boolean"]);
const LOWER = new Set(["$gt", "$gte"]);
const UPPER = new Set(["$lt", "$lte"]);
const OPERATORS = new Set(["$eq", "$ne", "$in", "$nin", ...LOWER, ...UPPER]);

// A filter as metadata-filtering.mdx defines it, compiled to a predicate over a vector's indexed
// values; a malformed one is refused before any vector is read.
function compileFilter(filter) {
  const fail = (message) => new VectorizeError("VECTOR_QUERY", `invalid filter: ${message}`);
  if (filter === null || typeof filter !== "object" || Array.isArray(filter) || !Object.keys(filter).length) {
    throw fail("filter must be a non-empty object");
  }
  if (bytes(JSON.stringify(filter)) >= LIMITS.maxFilterBytes) {
    throw fail(`its compact JSON must be less than ${LIMITS.maxFilterBytes} bytes`);
  }
  const scalar = (value) => value === null || FILTER_SCALARS.has(typeof value);
  const tests = Object.entries(filter).map(([key, condition]) => {
    checkKey(key, fail);
    const clauses =
      condition !== null && typeof condition === "object" && !Array.isArray(condition) ? Object.entries(condition) : [["$eq", condition]];
    if (!clauses.length) throw fail(`"${key}" has no operator`);
    const ops = clauses.map(([op]) => op);
    for (const op of ops) if (!OPERATORS.has(op)) throw fail(`unknown operator ${op}`);
    const ranged = ops.every((op) => LOWER.has(op) || UPPER.has(op));
    const pair = ops.length === 2 && ranged && ops.some((op) => LOWER.has(op)) && ops.some((op) => UPPER.has(op));
    if (ops.length > 1 && !pair) throw fail(`"${key}": only a lower and an upper bound may be combined`);
    return clauses.map(([op, operand]) => {
      if (op === "$in" || op === "$nin") {
        if (!Array.isArray(operand) || !operand.length || !operand.every(scalar)) throw fail(`${op} takes a non-empty array`);
      } else if (LOWER.has(op) || UPPER.has(op)) {
        if (typeof operand !== "string" && typeof operand !== "number") throw fail(`${op} takes a string or a number`);
      } else if (!scalar(operand)) {
        throw fail(`${op} takes a string, number, boolean or null`);
      }
      return (values) => {
        // An absent value is null: it equals only null and is in a list only with null.
        const value = Object.hasOwn(values, key) ? values[key] : null;
        switch (op) {
          case "$eq":
            return value === operand;
          case "$ne":
            return value !== operand;
          case "$in":
            return operand.includes(value);
          case "$nin":
            return !operand.includes(value);
          default: {
            if (typeof value !== typeof operand) return false;
            if (op === "$gt") return value > operand;
            if (op === "$gte") return value >= operand;
            if (op === "$lt") return value < operand;
            return value <= operand;
          }
        }
      };
    });
  });
  const predicates = tests.flat();
  return (values) => predicates.every((test) => test(values));
}

function toFloat32(blob) {
  // Buffers from SQLite may start at any byte offset; Float32Array needs a 4-byte-aligned one.
  const copy = new Uint8Array(blob.byteLength);
  copy.set(blob);
  return new Float32Array(copy.buffer);
}

// The binding. Methods and results follow VectorizeIndexImpl (V2): values arrive as JS arrays or
// typed arrays (the Python SDK converts lists to arrays), results are plain objects.
export class VectorizeIndex {
  constructor({ indexName, persistRoot, visibilityDelayMs = DEFAULT_VISIBILITY_DELAY_MS }) {
    Object.defineProperty(this, "settings", { value: { indexName, persistRoot, visibilityDelayMs }, enumerable: false });
    Object.defineProperty(this, "opened", { value: { store: null }, enumerable: false });
  }

  #store(operation) {
    if (!this.opened.store) {
      const { persistRoot, indexName } = this.settings;
      this.opened.store = VectorizeIndexStore.open(persistRoot, indexName);
      if (!this.opened.store) {
        throw new VectorizeError(
          operation,
          `vectorize index "${indexName}" not found; create it: node runtime/bin/vectorize.mjs create ${indexName} --dimensions=N --metric=cosine --persist-to <state>`,
        );
      }
    }
    this.opened.store.applyDue();
    return this.opened.store;
  }

  async describe() {
    const store = this.#store("INDEX_GET");
    return {
      vectorCount: store.vectorCount(),
      dimensions: store.dimensions,
      processedUpToDatetime: store.lastMutationAt,
      processedUpToMutation: store.lastMutation,
    };
  }

  async insert(vectors) {
    return this.#mutate("VECTOR_INSERT", "insert", vectors);
  }

  async upsert(vectors) {
    return this.#mutate("VECTOR_UPSERT", "upsert", vectors);
  }

  #mutate(operation, kind, vectors) {
    const store = this.#store(operation);
    if (!Array.isArray(vectors)) throw new VectorizeError(operation, `failed to parse ${kind} vectors request in json format`, 40023);
    if (vectors.length > LIMITS.maxBatch) {
      throw new VectorizeError(operation, `too many vectors in one request: ${vectors.length}; max is ${LIMITS.maxBatch}`);
    }
    const seen = new Set();
    const checked = vectors.map((vector) => {
      const { id, values, namespace, metadata } = vector ?? {};
      if (typeof id !== "string" || id === "") throw new VectorizeError(operation, "each vector needs a non-empty string id");
      if (bytes(id) > LIMITS.maxIdBytes) {
        throw new VectorizeError(operation, `id too long; max is ${LIMITS.maxIdBytes} bytes, got ${bytes(id)} bytes`, 40008);
      }
      const array = Array.isArray(values) || ArrayBuffer.isView(values) ? Array.from(values) : null;
      if (!array || array.length !== store.dimensions) {
        throw new VectorizeError(
          operation,
          `invalid vector for id="${id}", expected ${store.dimensions} dimensions, and got ${array?.length ?? 0} dimensions`,
          40012,
        );
      }
      if (!array.every((x) => typeof x === "number" && Number.isFinite(x))) {
        throw new VectorizeError(operation, `invalid vector for id="${id}": values must be finite numbers`);
      }
      if (namespace !== undefined && namespace !== null) {
        if (typeof namespace !== "string" || namespace === "" || bytes(namespace) > LIMITS.maxNamespaceBytes) {
          throw new VectorizeError(operation, `invalid namespace for id="${id}": 1 to ${LIMITS.maxNamespaceBytes} bytes`);
        }
      }
      if (metadata !== undefined && metadata !== null) checkMetadata(operation, id, metadata);
      // Within one request the last vector with an id is the one written.
      seen.add(id);
      return { id, values: Float32Array.from(array), namespace: namespace ?? undefined, metadata: metadata ?? undefined };
    });
    const unique = seen.size === checked.length ? checked : [...new Map(checked.map((v) => [v.id, v])).values()];
    return { mutationId: this.#enqueue(store, kind, unique) };
  }

  // The service applies mutations in the background; so does this, once each is due (reads
  // apply whatever is due first, so a read never sees less than a timer would have applied).
  #enqueue(store, kind, payload) {
    const { visibilityDelayMs } = this.settings;
    const mutationId = store.enqueue(kind, payload, visibilityDelayMs);
    setTimeout(() => {
      try {
        store.applyDue();
      } catch {
        // The store was closed (the runtime is stopping); the next open applies it.
      }
    }, visibilityDelayMs + 1).unref();
    return mutationId;
  }

  async deleteByIds(ids) {
    const store = this.#store("VECTOR_DELETE");
    checkIds("VECTOR_DELETE", ids);
    return { mutationId: this.#enqueue(store, "delete", [...ids]) };
  }

  async getByIds(ids) {
    const store = this.#store("VECTOR_GET");
    checkIds("VECTOR_GET", ids);
    const get = store.db.prepare("SELECT id, namespace, vals, metadata FROM vectors WHERE id = ?");
    const found = [];
    for (const id of new Set(ids)) {
      const row = get.get(id);
      if (row) found.push(vectorOut(row, true, "all"));
    }
    return found;
  }

  async query(vector, options = {}) {
    const store = this.#store("VECTOR_QUERY");
    const array = Array.isArray(vector) || ArrayBuffer.isView(vector) ? Array.from(vector) : null;
    if (!array || array.length !== store.dimensions || !array.every(Number.isFinite)) {
      throw new VectorizeError(
        "VECTOR_QUERY",
        `invalid query vector, expected ${store.dimensions} dimensions, and got ${array?.length ?? 0} dimensions`,
        40006,
      );
    }
    return this.#search(store, Float64Array.from(array), options ?? {});
  }

  async queryById(vectorId, options = {}) {
    const store = this.#store("VECTOR_QUERY");
    if (typeof vectorId !== "string" || vectorId === "") throw new VectorizeError("VECTOR_QUERY", "vectorId must be a non-empty string");
    const row = store.db.prepare("SELECT vals FROM vectors WHERE id = ?").get(vectorId);
    if (!row) return { count: 0, matches: [] };
    return this.#search(store, Float64Array.from(toFloat32(row.vals)), options ?? {});
  }

  #search(store, query, options) {
    const { topK, returnValues, returnMetadata, namespace, filter } = queryOptions(options);
    const matches = filter === undefined ? () => true : compileFilter(filter);
    const { score, better } = scorer(store.metric);
    const queryNorm = Math.sqrt(query.reduce((sum, x) => sum + x * x, 0));
    const rows =
      namespace === undefined
        ? store.db.prepare("SELECT id, indexed, vals FROM vectors")
        : store.db.prepare("SELECT id, indexed, vals FROM vectors WHERE namespace = ?");
    // The best topK so far, best first; a vector enters if it beats the worst kept.
    const best = [];
    const iterator = namespace === undefined ? rows.iterate() : rows.iterate(namespace);
    for (const row of iterator) {
      if (filter !== undefined && !matches(JSON.parse(row.indexed))) continue;
      const s = score(query, queryNorm, toFloat32(row.vals));
      if (best.length === topK && !better(s, best[best.length - 1].score)) continue;
      let at = best.length;
      while (at > 0 && (better(s, best[at - 1].score) || (s === best[at - 1].score && row.id < best[at - 1].id))) at--;
      best.splice(at, 0, { id: row.id, score: s });
      if (best.length > topK) best.pop();
    }
    const get = store.db.prepare("SELECT id, namespace, vals, metadata, indexed FROM vectors WHERE id = ?");
    const out = best.map(({ id, score: s }) => {
      const row = get.get(id);
      return { ...vectorOut(row, returnValues, returnMetadata), score: s };
    });
    return { count: out.length, matches: out };
  }
}

function vectorOut(row, withValues, metadataMode) {
  const out = { id: row.id };
  if (withValues) out.values = Array.from(toFloat32(row.vals));
  if (metadataMode === "all" && row.metadata !== null) out.metadata = JSON.parse(row.metadata);
  if (metadataMode === "indexed") out.metadata = JSON.parse(row.indexed);
  if (row.namespace !== null) out.namespace = row.namespace;
  return out;
}

function checkIds(operation, ids) {
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
    throw new VectorizeError(operation, "ids must be an array of strings");
  }
  if (ids.length > LIMITS.maxBatch) throw new VectorizeError(operation, `too many ids in one request: ${ids.length}; max is ${LIMITS.maxBatch}`);
}

function checkMetadata(operation, id, metadata) {
  if (typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new VectorizeError(operation, `invalid metadata for id="${id}": must be an object`);
  }
  const size = bytes(JSON.stringify(metadata));
  if (size > LIMITS.maxMetadataBytes) {
    throw new VectorizeError(operation, `metadata for id="${id}" is ${size} bytes; max is ${LIMITS.maxMetadataBytes} bytes`);
  }
  const walk = (object) => {
    for (const [key, value] of Object.entries(object)) {
      // insert-vectors.mdx: keys cannot be empty, contain "." or '"', or start with "$".
      if (key === "" || key.includes(".") || key.includes('"') || key.startsWith("$")) {
        throw new VectorizeError(operation, `invalid metadata key ${JSON.stringify(key)} for id="${id}"`);
      }
      if (value !== null && typeof value === "object" && !Array.isArray(value)) walk(value);
    }
  };
  walk(metadata);
}

// Options as the wrapper and the service read them: returnMetadata true means "all"; false is
// sent on unchanged and refused by the service (the wrapper only maps truthy values).
function queryOptions(options) {
  let { topK = LIMITS.defaultTopK, returnValues = false, returnMetadata = "none", namespace, filter } = options;
  if (returnMetadata === true) returnMetadata = "all";
  if (returnMetadata === false) {
    throw new VectorizeError("VECTOR_QUERY", "Failed to parse the request body as JSON: returnMetadata: expected value", 40026);
  }
  if (!["none", "indexed", "all"].includes(returnMetadata)) {
    throw new Error(`Invalid returnMetadata option. Expected: true, false, "none", "indexed" or "all"; got: ${returnMetadata}`);
  }
  if (!Number.isInteger(topK) || topK < 1 || topK > LIMITS.maxTopK) {
    throw new VectorizeError("VECTOR_QUERY", `topK must be an integer from 1 to ${LIMITS.maxTopK}, got ${topK}`);
  }
  if ((returnValues || returnMetadata === "all") && topK > LIMITS.maxTopKWithValuesOrAllMetadata) {
    throw new VectorizeError(
      "VECTOR_QUERY",
      `with returnValues=true or returnMetadata=all, max top K is ${LIMITS.maxTopKWithValuesOrAllMetadata}, but got ${topK}`,
      40025,
    );
  }
  if (namespace === null) namespace = undefined;
  if (filter === null) filter = undefined;
  return { topK, returnValues: Boolean(returnValues), returnMetadata, namespace, filter };
}

// The management side (runtime/bin/vectorize.mjs), as `wrangler vectorize <command>` behaves.
export function createIndex(persistRoot, name, { dimensions, metric }) {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > LIMITS.maxDimensions) {
    throw new VectorizeCommandError(`--dimensions must be an integer from 1 to ${LIMITS.maxDimensions}`);
  }
  if (!METRICS.includes(metric)) throw new VectorizeCommandError(`--metric must be one of ${METRICS.join(", ")}`);
  if (fs.existsSync(indexFile(persistRoot, name))) throw new VectorizeCommandError(`index "${name}" already exists`);
  VectorizeIndexStore.open(persistRoot, name, { create: { dimensions, metric } }).close();
}

export function openIndex(persistRoot, name) {
  const store = VectorizeIndexStore.open(persistRoot, name);
  if (!store) throw new VectorizeCommandError(`index "${name}" not found`);
  return store;
}

export function deleteIndex(persistRoot, name) {
  const file = indexFile(persistRoot, name);
  if (!fs.existsSync(file)) throw new VectorizeCommandError(`index "${name}" not found`);
  for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(`${file}${suffix}`, { force: true });
}

// One start-up line per index: what it is, or that it has not been created yet.
export function describeIndex(persistRoot, name) {
  const store = VectorizeIndexStore.open(persistRoot, name);
  if (!store) return `index "${name}" not created yet (node runtime/bin/vectorize.mjs create ${name} ...); using it raises an error`;
  try {
    const indexes = store.metadataIndexes().map((i) => `${i.property}:${i.type}`);
    return `index "${name}" (${store.dimensions} dimensions, ${store.metric}; metadata indexes: ${indexes.join(", ") || "none"})`;
  } finally {
    store.close();
  }
}
