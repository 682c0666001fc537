#!/usr/bin/env node
// pyworker-dev: runs a Python Worker offline on Pyodide, the workers SDK and miniflare.
// Flags follow `wrangler dev`: --port, --persist-to, --config; plus --test-mode (control
// routes for tests: traces, fault injection), --test-scheduled (the /__scheduled route) and
// --var KEY:VALUE.
import { parseArgs } from "node:util";
import { BundleError } from "../lib/bundle.mjs";
import { ConfigError } from "../lib/config.mjs";
import { jspiAvailable, jspiMissingMessage } from "../lib/jspi.mjs";
import { logError } from "../lib/log.mjs";
import { WorkerLoadError } from "../lib/python/interpreter.mjs";
import { startRuntime, StartupError } from "../lib/runtime.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8787" },
    ip: { type: "string", default: "127.0.0.1" },
    "persist-to": { type: "string", default: ".wrangler/state" },
    config: { type: "string", short: "c", default: "wrangler.toml" },
    "test-mode": { type: "boolean", default: false },
    "test-scheduled": { type: "boolean", default: false },
    // Like wrangler dev's --var KEY:VALUE; overrides [vars] and .dev.vars.
    var: { type: "string", multiple: true, default: [] },
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

const KNOWN_STARTUP_ERRORS = [BundleError, ConfigError, StartupError, WorkerLoadError];

if (!jspiAvailable()) {
  logError(`✘ ${jspiMissingMessage()}`);
  process.exit(1);
}

// workerd logs an error that escapes the Worker's promises and goes on serving; so does this
// runtime, rather than letting Node end the process.
process.on("unhandledRejection", (reason) => logError(`uncaught (in promise): ${reason?.stack ?? reason}`));
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
