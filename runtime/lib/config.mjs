// Reads a Worker's wrangler configuration (wrangler.toml, wrangler.json or wrangler.jsonc, the
// formats wrangler reads, with the same keys) and turns it into the one description of a Worker
// that the rest of the runtime uses. Nothing here knows about any particular application.
import fs from "node:fs";
import path from "node:path";
import { parse as parseJsonc, printParseErrorCode } from "jsonc-parser";
import { parse as parseToml } from "smol-toml";
import { parse as parseDotenv } from "dotenv";
import { INDEX_NAME } from "./bindings/vectorize.mjs";
import { CompatibilityError, resolveCompatibility, unsupportedPythonSetup } from "./compat.mjs";

export class ConfigError extends Error {}

// Production's queue consumer defaults; miniflare's own defaults (5, 1 s, 2) differ.
const QUEUE_DEFAULTS = { maxBatchSize: 10, maxBatchTimeout: 5, maxRetries: 3 };

// Binding sections this runtime does not emulate, the key that names each binding, and the JS
// class workerd presents it as (the workers SDK wraps bindings by that name). A Worker that
// declares one still starts: the binding is named in a start-up warning and raises, when used,
// an error that says so (never a silent AttributeError).
const NOT_EMULATED = [
  ["hyperdrive", "binding", "Hyperdrive", "Hyperdrive"],
  ["mtls_certificates", "binding", "mTLS certificate", "Fetcher"],
  ["services", "binding", "service binding", "Fetcher"],
  ["dispatch_namespaces", "binding", "dispatch namespace", "DispatchNamespace"],
  ["send_email", "name", "Email", "SendEmail"],
  ["pipelines", "binding", "Pipeline", "Pipeline"],
  ["secrets_store_secrets", "binding", "Secrets Store secret", "SecretsStoreSecret"],
];
const NOT_EMULATED_SINGLE = [["browser", "Browser Rendering", "Fetcher"]];

function parseConfigFile(file) {
  const text = fs.readFileSync(file, "utf8").replace(/^\uFEFF/, ""); // wrangler ignores a BOM too
  if (/\.jsonc?$/.test(file)) {
    const errors = [];
    const raw = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false });
    if (errors.length) {
      const [{ error, offset }] = errors;
      const line = text.slice(0, offset).split("\n").length;
      throw new ConfigError(`${file}:${line}: ${printParseErrorCode(error)}`);
    }
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError(`${file}: not a JSON object`);
    return raw;
  }
  try {
    return parseToml(text);
  } catch (error) {
    throw new ConfigError(`${file}: ${error.message.split("\n")[0]}`);
  }
}

// Without --config, the file wrangler would read in `directory`: the first of its names, in its
// order (wrangler.json, then wrangler.jsonc, then wrangler.toml).
export function findConfigFile(directory) {
  const names = ["wrangler.json", "wrangler.jsonc", "wrangler.toml"];
  return names.map((name) => path.join(directory, name)).find((file) => fs.existsSync(file)) ?? path.join(directory, "wrangler.toml");
}

// A section that must be a list of tables (`[[kv_namespaces]]`), or absent.
function list(raw, section, file) {
  const value = raw[section];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== "object" || entry === null)) {
    throw new ConfigError(`${file}: "${section}" must be a list of tables`);
  }
  return value;
}

function notEmulatedBindings(raw, file) {
  const found = [];
  for (const [section, key, type, className] of NOT_EMULATED) {
    for (const entry of list(raw, section, file)) if (entry[key]) found.push({ binding: entry[key], type, section, className });
  }
  for (const [section, type, className] of NOT_EMULATED_SINGLE) {
    if (raw[section]?.binding) found.push({ binding: raw[section].binding, type, section, className });
  }
  return found;
}

// `[[ratelimits]]`: name, namespace_id and simple = { limit, period }.
function ratelimits(raw, file) {
  return list(raw, "ratelimits", file).map((r) => {
    if (!r.name || typeof r.simple !== "object") throw new ConfigError(`${file}: each [[ratelimits]] needs a "name" and a "simple" table`);
    return { binding: r.name, limit: r.simple.limit, period: r.simple.period };
  });
}

export function loadConfig(configPath) {
  const absolute = configPath ? path.resolve(configPath) : findConfigFile(process.cwd());
  if (!fs.existsSync(absolute)) throw new ConfigError(`config not found: ${absolute}`);
  const raw = parseConfigFile(absolute);
  const root = path.dirname(absolute);
  if (!raw.name) throw new ConfigError(`${absolute}: "name" is required`);
  if (!raw.main) throw new ConfigError(`${absolute}: "main" is required`);
  const flags = raw.compatibility_flags ?? [];
  if (!Array.isArray(flags) || flags.some((flag) => typeof flag !== "string")) {
    throw new ConfigError(`${absolute}: compatibility_flags must be a list of strings`);
  }
  let compatibility;
  try {
    compatibility = resolveCompatibility({ date: raw.compatibility_date, flags });
  } catch (error) {
    if (error instanceof CompatibilityError) throw new ConfigError(`${absolute}: ${error.message}`);
    throw error;
  }
  const unsupported = unsupportedPythonSetup({ date: raw.compatibility_date, resolved: compatibility });
  if (unsupported) throw new ConfigError(`${absolute}: ${unsupported}`);
  return {
    path: absolute,
    root,
    name: raw.name,
    main: path.resolve(root, raw.main),
    compatibilityDate: raw.compatibility_date,
    compatibilityFlags: flags,
    // Every Python-relevant flag as production resolves it from the date and the flags.
    compatibility,
    vars: raw.vars ?? {},
    // `[limits]`: cpu_ms and subrequests, as wrangler uploads them (limits.mjs checks them).
    limits: raw.limits ?? {},
    d1: list(raw, "d1_databases", absolute).map((db) => ({
      binding: db.binding,
      // The id miniflare keys the database file by: the same rule wrangler dev and
      // `wrangler d1 migrations apply --local` use, so all three share one database.
      id: db.preview_database_id ?? db.database_id ?? db.binding,
      name: db.database_name,
      migrationsDir: path.resolve(root, db.migrations_dir ?? "migrations"),
      migrationsTable: db.migrations_table ?? "d1_migrations",
    })),
    r2: list(raw, "r2_buckets", absolute).map((b) => ({ binding: b.binding, id: b.bucket_name ?? b.binding })),
    kv: list(raw, "kv_namespaces", absolute).map((ns) => ({ binding: ns.binding, id: ns.id ?? ns.binding })),
    queueProducers: (raw.queues?.producers ?? []).map((p) => ({
      binding: p.binding,
      queue: p.queue,
      deliveryDelay: p.delivery_delay,
    })),
    queueConsumers: (raw.queues?.consumers ?? []).map((c) => ({
      queue: c.queue,
      maxBatchSize: c.max_batch_size ?? QUEUE_DEFAULTS.maxBatchSize,
      maxBatchTimeout: c.max_batch_timeout ?? QUEUE_DEFAULTS.maxBatchTimeout,
      maxRetries: c.max_retries ?? QUEUE_DEFAULTS.maxRetries,
      deadLetterQueue: c.dead_letter_queue,
      retryDelay: c.retry_delay,
    })),
    ai: raw.ai?.binding ? { binding: raw.ai.binding } : null,
    durableObjects: (raw.durable_objects?.bindings ?? []).map((d) => ({
      binding: d.name,
      className: d.class_name,
      scriptName: d.script_name,
    })),
    sqliteClasses: new Set((raw.migrations ?? []).flatMap((m) => m.new_sqlite_classes ?? [])),
    crons: raw.triggers?.crons ?? [],
    assets: assetsConfig(raw.assets, root, absolute),
    ratelimits: ratelimits(raw, absolute),
    workflows: list(raw, "workflows", absolute).map((w) => ({
      binding: w.binding,
      name: w.name ?? w.binding,
      className: w.class_name,
      scriptName: w.script_name,
    })),
    vectorize: list(raw, "vectorize", absolute).map((v) => {
      if (!v.binding || !v.index_name) throw new ConfigError(`${absolute}: each [[vectorize]] needs a "binding" and an "index_name"`);
      if (!INDEX_NAME.test(v.index_name)) throw new ConfigError(`${absolute}: [[vectorize]] index_name "${v.index_name}" is not an index name (a-z, 0-9, "-")`);
      return { binding: v.binding, indexName: v.index_name };
    }),
    analyticsEngine: list(raw, "analytics_engine_datasets", absolute).map((d) => ({ binding: d.binding, dataset: d.dataset ?? d.binding })),
    images: raw.images?.binding ? { binding: raw.images.binding } : null,
    versionMetadata: raw.version_metadata?.binding ? { binding: raw.version_metadata.binding } : null,
    notEmulated: notEmulatedBindings(raw, absolute),
  };
}

function assetsConfig(assets, root, configFile) {
  if (!assets) return null;
  if (!assets.directory) throw new ConfigError(`${configFile}: [assets] needs a "directory"`);
  return {
    directory: path.resolve(root, assets.directory),
    binding: assets.binding ?? null,
    runWorkerFirst: assets.run_worker_first ?? false,
    htmlHandling: assets.html_handling ?? "auto-trailing-slash",
    notFoundHandling: assets.not_found_handling ?? "none",
  };
}

// `.dev.vars` beside the config, like wrangler dev; `.env` only when there is no `.dev.vars`.
export function loadDevVars(config) {
  for (const name of [".dev.vars", ".env"]) {
    const file = path.join(config.root, name);
    if (fs.existsSync(file)) return { file, vars: parseDotenv(fs.readFileSync(file)) };
  }
  return { file: null, vars: {} };
}

export function bindingNames(config) {
  return [
    ...Object.keys(config.vars),
    ...config.d1.map((b) => b.binding),
    ...config.r2.map((b) => b.binding),
    ...config.kv.map((b) => b.binding),
    ...config.queueProducers.map((b) => b.binding),
    ...config.durableObjects.map((b) => b.binding),
    ...(config.ai ? [config.ai.binding] : []),
    ...config.notEmulated.map((b) => b.binding),
    ...(config.assets?.binding ? [config.assets.binding] : []),
  ];
}
