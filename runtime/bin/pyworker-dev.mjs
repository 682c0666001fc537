#!/usr/bin/env node
// pyworker-dev: runs a Python Worker offline on Pyodide, the workers SDK and miniflare.
// Flags follow `wrangler dev`: --port, --persist-to, --config; plus --test-mode (control
// routes for tests: traces, fault injection), --test-scheduled (the /__scheduled route) and
// --var KEY:VALUE, --zone-plan (free|pro|business|enterprise: the edge's request-body limit) and
// --workers-plan (paid|free: CPU, subrequest and D1 query limits per invocation).
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { parseArgs } from "node:util";
import { BundleError } from "../lib/bundle.mjs";
import { ConfigError } from "../lib/config.mjs";
import { JSPI_FLAG, jspiAvailable, jspiFlagGiven, jspiMissingMessage } from "../lib/jspi.mjs";
import { logError } from "../lib/log.mjs";
import { WorkerLoadError } from "../lib/python/interpreter.mjs";
import { startRuntime, StartupError } from "../lib/runtime.mjs";
import { REQUEST_BODY_LIMITS } from "../lib/server.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8787" },
    ip: { type: "string", default: "127.0.0.1" },
    "persist-to": { type: "string", default: ".wrangler/state" },
    // Without it, wrangler.json, wrangler.jsonc or wrangler.toml here, in wrangler's order.
    config: { type: "string", short: "c" },
    "test-mode": { type: "boolean", default: false },
    "test-scheduled": { type: "boolean", default: false },
    // Like wrangler dev's --var KEY:VALUE; overrides [vars] and .dev.vars.
    var: { type: "string", multiple: true, default: [] },
    "zone-plan": { type: "string", default: "free" },
    "workers-plan": { type: "string", default: "paid" },
    // How long Vectorize mutations take to become visible to queries (production: "a few seconds").
    "vectorize-delay-ms": { type: "string", default: "2000" },
  },
});

function parseVars(pairs) {
  const vars = {};
  for (const pair of pairs) {
    const at = pair.indexOf(":");
    if (at <= 0) throw new ConfigError(`--var expects KEY:VALUE, got "${pair}"`);
    vars[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return vars;
}

function requestBodyLimit(plan) {
  if (!Object.hasOwn(REQUEST_BODY_LIMITS, plan)) {
    throw new ConfigError(`--zone-plan must be one of ${Object.keys(REQUEST_BODY_LIMITS).join(", ")}, got "${plan}"`);
  }
  return REQUEST_BODY_LIMITS[plan];
}

function vectorizeDelay(text) {
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms > 600_000) throw new ConfigError(`--vectorize-delay-ms must be 0 to 600000, got "${text}"`);
  return ms;
}

const KNOWN_STARTUP_ERRORS = [BundleError, ConfigError, StartupError, WorkerLoadError];

// Production runs Pyodide with stack switching (JSPI). A Node that has it only behind a flag
// (Node 20) is started again with the flag, once; one that was told about it and still lacks
// it, or explicitly turned it off, is refused in one line.
if (!jspiAvailable()) {
  if (jspiFlagGiven(process.execArgv)) {
    logError(`✘ ${jspiMissingMessage()}`);
    process.exit(1);
  }
  const child = spawn(process.execPath, [JSPI_FLAG, ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 1)));
} else {
  await main();
}

async function main() {
  // workerd logs an error that escapes the Worker's promises and goes on serving; so does this
  // runtime, rather than letting Node end the process.
  // A fatal interpreter error is reported once, by the isolate that replaces itself.
  process.on("unhandledRejection", (reason) => reason?.pyodide_fatal_error || logError(`uncaught (in promise): ${reason?.stack ?? reason}`));
  process.on("uncaughtException", (error) => logError(`uncaught exception: ${String(error?.stack ?? error).split("\n").slice(-12).join("\n")}`));

  try {
    const runtime = await startRuntime({
      configPath: values.config,
      port: Number(values.port),
      host: values.ip,
      persistTo: values["persist-to"],
      testMode: values["test-mode"],
      testScheduled: values["test-scheduled"],
      vars: parseVars(values.var),
      requestBodyLimit: requestBodyLimit(values["zone-plan"]),
      workersPlan: values["workers-plan"],
      vectorizeDelayMs: vectorizeDelay(values["vectorize-delay-ms"]),
    });
    const stop = async () => {
      await runtime.close();
      process.exit(0);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  } catch (error) {
    if (KNOWN_STARTUP_ERRORS.some((cls) => error instanceof cls)) logError(`✘ ${error.message}`);
    else logError(`✘ start-up failed: ${error?.stack ?? error}`);
    process.exit(1);
  }
}
