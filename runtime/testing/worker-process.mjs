// For the runtime's own tests: a throwaway Python Worker project (wrangler.toml and a main
// module) served by the runtime's CLI in a child process, as a developer starts it.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stopProcessGroup } from "./processes.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "runtime", "bin", "pyworker-dev.mjs");
const START_TIMEOUT_MS = 90_000;

// A minimal wrangler.toml for a Python Worker whose main module is src/entry.py, with a SQLite
// Durable Object binding per class in `durableObjects` ({BINDING: "ClassName"}), then `extra`.
export function wranglerToml({ name, durableObjects = {}, extra = "" }) {
  let toml = `name = "${name}"\nmain = "src/entry.py"\ncompatibility_date = "2026-08-22"\ncompatibility_flags = ["python_workers"]\n`;
  const classes = Object.values(durableObjects);
  for (const [binding, className] of Object.entries(durableObjects)) {
    toml += `\n[[durable_objects.bindings]]\nname = "${binding}"\nclass_name = "${className}"\n`;
  }
  if (classes.length) toml += `\n[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ${JSON.stringify(classes)}\n`;
  return `${toml}${extra}`;
}

// Started as `npm run dev -- ...` starts it, or, with `nodeFlags`, as `node <nodeFlags> <cli> ...`.
// `configName` names the configuration file (wrangler.toml, .json or .jsonc); `files` adds
// other files to the project ({relative path: contents}). The workers SDK that `make install`
// vendored into the repository's python_modules/ is copied into the project, where production
// imports it from, unless `vendorSdk` is false. `restart()` stops the runtime and
// starts it again on the same project and state, as a developer restarting `npm run dev` does.
export async function startWorker({
  wrangler,
  entry,
  args = [],
  nodeFlags = null,
  configName = "wrangler.toml",
  files = {},
  vendorSdk = true,
}) {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), "pyworker-test-"));
  if (vendorSdk) fs.cpSync(path.join(ROOT, "python_modules"), path.join(project, "python_modules"), { recursive: true });
  for (const [name, contents] of Object.entries({ [configName]: wrangler, "src/entry.py": entry, ...files })) {
    fs.mkdirSync(path.dirname(path.join(project, name)), { recursive: true });
    fs.writeFileSync(path.join(project, name), contents);
  }
  // Port 0: the runtime takes a free port itself and says which. Picking one here and passing it
  // on races with the other runtimes these tests start in parallel (workerd binds ports too).
  const cliArgs = ["--config", path.join(project, configName), "--port", "0", "--persist-to", path.join(project, "state"), ...args];
  const [command, commandArgs] = nodeFlags
    ? [process.execPath, [...nodeFlags, CLI, ...cliArgs]]
    : ["npm", ["run", "--silent", "dev", "--", ...cliArgs]];
  let output = "";
  let child = await launch(command, commandArgs, (chunk) => (output += chunk), () => output);
  return {
    get url() {
      return /ready on (http:\/\/\S+)/.exec(output)[1];
    },
    output: () => output,
    // The runtime logs a request once its response is out, so a client can be ahead of the log.
    async waitForOutput(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in the runtime's output after ${timeoutMs} ms:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async restart() {
      await stopProcessGroup(child);
      output = "";
      child = await launch(command, commandArgs, (chunk) => (output += chunk), () => output);
    },
    async stop() {
      await stopProcessGroup(child);
      fs.rmSync(project, { recursive: true, force: true });
    },
  };
}

async function launch(command, commandArgs, onOutput, output) {
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    env: process.env,
    detached: true,
  });
  child.stdout.on("data", onOutput);
  child.stderr.on("data", onOutput);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!output().includes("ready on http://")) {
    if (child.exitCode !== null) throw new Error(`runtime exited with ${child.exitCode}:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`runtime not ready after ${START_TIMEOUT_MS} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return child;
}
