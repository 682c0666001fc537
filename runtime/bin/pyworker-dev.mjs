#!/usr/bin/env node
// pyworker-dev: runs a Python Worker offline on Pyodide, the workers SDK and miniflare.
// Flags follow `wrangler dev`: --port, --persist-to, --config; plus --test-mode (control
// routes for tests: traces, fault injection) and --test-scheduled (the /__scheduled route).
import { parseArgs } from "node:util";
import { BundleError } from "../lib/bundle.mjs";
import { ConfigError } from "../lib/config.mjs";
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
  },
});

const KNOWN_STARTUP_ERRORS = [BundleError, ConfigError, StartupError, WorkerLoadError];

try {
  const runtime = await startRuntime({
    configPath: values.config,
    port: Number(values.port),
    host: values.ip,
    persistTo: values["persist-to"],
    testMode: values["test-mode"],
    testScheduled: values["test-scheduled"],
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
