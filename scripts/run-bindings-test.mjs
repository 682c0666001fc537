#!/usr/bin/env node
// Runs Cloudflare's own in-Worker binding tests (cloudflare/workers-py,
// packages/runtime-sdk/tests/bindings-test) on the local runtime: the conformance suite for
// Python Worker bindings. Not part of `make test`: the suite is Cloudflare's code, so it is laid
// out from a copy of the public repository that you fetch, and never committed here.
//
//   node scripts/run-bindings-test.mjs <workers-py checkout or bare git repository>
//
// What upstream's host conftest does for its Python 3.13 configuration is done here too: the
// config's %COMPAT_DATE becomes 2026-01-01 and the same flags are added to "python_workers". Its
// python_modules/ gets pytest < 9 and pytest-asyncio < 1.2 (pinned below) and the workers SDK
// that `make install` vendored. The runtime serves it with `npm run dev -- --config`, each suite
// runs through the Worker's /run-tests/<suite>, then the runtime restarts on the same state and
// every suite runs again. Exit status 0 when d1, do, kv, queue and r2 pass in both runs and the
// other suites pass on fresh state or fail only with the runtime's "not emulated" error.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stopProcessGroup } from "../runtime/testing/processes.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SUITE_DIR = "packages/runtime-sdk/tests/bindings-test";
const COMPAT_DATE = "2026-01-01";
const EXTRA_FLAGS = ["enable_python_external_sdk", "python_process_pth_files", "python_request_headers_preserve_commas"];
const TEST_PACKAGES = ["pytest==8.4.2", "pytest-asyncio==1.1.1"];
// Upstream runs these only when asked (-m hyperdrive), and skips them below Python 3.14.
const OPT_IN_SUITES = new Set(["hyperdrive_mysql", "hyperdrive_postgresql"]);
const MUST_PASS = new Set(["d1", "do", "kv", "queue", "r2"]);
const NOT_EMULATED = /is not emulated by the local runtime/;

function layOut(source, dest) {
  if (fs.existsSync(path.join(source, SUITE_DIR))) {
    fs.cpSync(path.join(source, SUITE_DIR), dest, { recursive: true });
  } else {
    const archive = execFileSync("git", ["--git-dir", source, "archive", "HEAD", SUITE_DIR], { maxBuffer: 64 * 1024 * 1024 });
    fs.mkdirSync(dest, { recursive: true });
    execFileSync("tar", ["-x", "-C", dest, `--strip-components=${SUITE_DIR.split("/").length}`], { input: archive });
  }
  const config = path.join(dest, "wrangler.jsonc");
  let text = fs.readFileSync(config, "utf8").replace("%COMPAT_DATE", COMPAT_DATE);
  for (const flag of EXTRA_FLAGS) text = text.replace('"python_workers"', `"python_workers", "${flag}"`);
  fs.writeFileSync(config, text);
  const modules = path.join(dest, "python_modules");
  execFileSync(path.join(ROOT, ".venv", "bin", "python"), [
    "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile", "--only-binary=:all:",
    "--target", modules, ...TEST_PACKAGES,
  ], { stdio: "inherit" });
  fs.rmSync(path.join(modules, "bin"), { recursive: true, force: true });
  fs.cpSync(path.join(ROOT, "python_modules"), modules, { recursive: true });
  return config;
}

function suites(dest) {
  return fs
    .readdirSync(path.join(dest, "src"))
    .map((name) => /^test_(\w+)\.py$/.exec(name)?.[1])
    .filter((name) => name && !OPT_IN_SUITES.has(name))
    .sort();
}

async function start(config, state) {
  const child = spawn("npm", ["run", "--silent", "dev", "--", "--config", config, "--port", "0", "--persist-to", state], {
    cwd: ROOT,
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 120_000;
  while (!/ready on (http:\/\/\S+)/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the runtime did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { child, url: /ready on (http:\/\/\S+)/.exec(output)[1], output: () => output };
}

async function runSuite(url, suite) {
  const response = await fetch(`${url}/run-tests/${suite}`, { signal: AbortSignal.timeout(300_000) });
  const results = await response.json();
  const tally = { passed: 0, failed: [], notEmulated: 0, skipped: 0 };
  for (const [name, result] of Object.entries(results)) {
    if (result.status === "passed") tally.passed += 1;
    else if (result.status === "skipped") tally.skipped += 1;
    else if (NOT_EMULATED.test(`${result.error}\n${result.traceback ?? ""}`)) tally.notEmulated += 1;
    else tally.failed.push(`${name}: ${String(result.error).split("\n")[0].slice(0, 200)}`);
  }
  tally.total = Object.keys(results).length;
  return tally;
}

async function runAll(url, names, label) {
  console.log(`\n${label}`);
  const tallies = {};
  for (const suite of names) {
    const tally = await runSuite(url, suite);
    tallies[suite] = tally;
    const extra = [tally.notEmulated && `${tally.notEmulated} not emulated`, tally.skipped && `${tally.skipped} skipped`].filter(Boolean);
    console.log(`  ${suite.padEnd(18)} ${tally.passed}/${tally.total} passed${extra.length ? ` (${extra.join(", ")})` : ""}`);
    for (const failure of tally.failed) console.log(`      ✘ ${failure}`);
  }
  return tallies;
}

const source = process.argv[2];
if (!source) {
  console.error("usage: node scripts/run-bindings-test.mjs <workers-py checkout or bare git repository>");
  process.exit(2);
}
const dest = fs.mkdtempSync(path.join(os.tmpdir(), "bindings-test-"));
const config = layOut(path.resolve(source), dest);
const names = suites(dest);
const state = path.join(dest, ".state");
let ok = true;
for (const label of ["fresh state", "after a restart on the same state"]) {
  const runtime = await start(config, state);
  try {
    const tallies = await runAll(runtime.url, names, label);
    for (const [suite, tally] of Object.entries(tallies)) {
      // After the restart only the storage suites are held to passing: the others assume fresh
      // state (the workflow suite creates instances with fixed ids, which exist by then).
      const held = label === "fresh state" || MUST_PASS.has(suite);
      if (held && (tally.failed.length || tally.total === 0)) ok = false;
      if (MUST_PASS.has(suite) && tally.passed !== tally.total) ok = false;
    }
  } finally {
    await stopProcessGroup(runtime.child);
  }
}
console.log(`\n${ok ? "✔" : "✘"} laid out in ${dest}`);
process.exit(ok ? 0 : 1);
