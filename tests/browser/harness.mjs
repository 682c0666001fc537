// For the browser tests: the project's Worker on the local runtime (its own state directory and
// port), an API key minted through the admin API, and Debian's Chromium driven by playwright-core.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { nodeFlagsForJspi } from "../../runtime/lib/jspi.mjs";
import { freePort, stopProcessGroup } from "../../runtime/testing/processes.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACTS = path.join(ROOT, "test-results");
const ADMIN_TOKEN = "browser-test-admin-token-0123456789abcdef";
const START_TIMEOUT_MS = 90_000;
// Never a downloaded browser: the distribution's Chromium, installed by `make test`.
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// Without the background-networking flags Chromium keeps trying Google's hosts, which this
// offline machine refuses.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

// `log`: the runtime's log file in test-results/ (one per test file, so none overwrites another's).
export async function startWorker(vars = {}, { log: logName = "browser-runtime.log" } = {}) {
  const port = await freePort();
  const state = fs.mkdtempSync(path.join(os.tmpdir(), "edgefiles-browser-"));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const logPath = path.join(ARTIFACTS, logName);
  const log = fs.openSync(logPath, "w");
  execFileSync(path.join(ROOT, "scripts", "vectorize-index"), ["local", state], { cwd: ROOT, stdio: "ignore" });
  const args = [...nodeFlagsForJspi(), "runtime/bin/pyworker-dev.mjs", "--port", String(port), "--persist-to", state, "--test-mode"];
  for (const [name, value] of Object.entries({ ADMIN_TOKEN, SIGNING_KEY: "browser-test-signing-key-0123456789abcdef", ...vars })) {
    args.push("--var", `${name}:${value}`);
  }
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", log, log],
    env: process.env,
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`runtime exited with ${child.exitCode}; see ${logPath}`);
    try {
      if ((await fetch(`${url}/__runtime/health`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`runtime not ready after ${START_TIMEOUT_MS} ms; see ${logPath}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    logPath,
    async mintKey(userId) {
      const response = await fetch(`${url}/api/admin/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ user_id: userId }),
      });
      if (response.status !== 201) throw new Error(`minting a key: ${response.status} ${await response.text()}`);
      return (await response.json()).key;
    },
    async fault(target, { count = 1, skip = 0 } = {}) {
      const response = await fetch(`${url}/__runtime/faults`, { method: "POST", body: JSON.stringify({ target, count, skip }) });
      if (!response.ok) throw new Error(`arming ${target}: ${response.status}`);
    },
    async clearFaults() {
      const response = await fetch(`${url}/__runtime/faults`, { method: "DELETE" });
      if (!response.ok) throw new Error(`clearing faults: ${response.status}`);
    },
    // An admin route (quotas, audit) with the admin token.
    async admin(pathname, init = {}) {
      return fetch(`${url}${pathname}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", ...init.headers } });
    },
    async api(key, pathname, init = {}) {
      return fetch(`${url}${pathname}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });
    },
    async stop() {
      await stopProcessGroup(child);
      fs.closeSync(log);
      fs.rmSync(state, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: \`make test\` installs Debian's chromium package`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
