// The Worker's code is exactly what `wrangler deploy --dry-run --outdir` emits, i.e. what would
// be uploaded, the vendored `python_modules/` (what `pywrangler sync` produces) included.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { promisify } from "node:util";

const run = promisify(execFile);
const require = createRequire(import.meta.url);

export class BundleError extends Error {}

function listFiles(directory, prefix = "") {
  const out = [];
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    const abs = path.join(directory, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(abs, rel));
    else out.push({ name: rel, source: abs });
  }
  return out;
}

export async function buildBundle(config) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "pyworker-bundle-"));
  const wrangler = require.resolve("wrangler/bin/wrangler.js");
  try {
    await run(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outdir, "--config", config.path], {
      cwd: config.root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "true" },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const output = `${error.stdout ?? ""}\n${error.stderr ?? ""}`;
    const reason = output.split("\n").find((line) => /✘|ERROR|Error/.test(line)) ?? error.message;
    throw new BundleError(`wrangler could not bundle the Worker: ${reason.replace(/^.*?\[ERROR\]\s*/, "").trim()}`);
  }
  const mainModule = path.basename(config.main);
  const moduleRoot = path.dirname(config.main);
  // wrangler writes a README.md of its own into the output folder; it is not a module.
  const files = listFiles(outdir).filter((f) => f.name !== "README.md" || fs.existsSync(path.join(moduleRoot, "README.md")));
  if (!files.some((f) => f.name === mainModule)) throw new BundleError(`main module ${config.main} is not in the bundle`);
  const relRoot = path.relative(config.root, moduleRoot) || ".";
  return {
    outdir,
    files,
    mainModule,
    // Maps the paths Python reports (/session/metadata/x.py) back to the project's files.
    describePath: (text) => text.replaceAll("/session/metadata/", `${relRoot}/`),
  };
}

// Since enable_python_external_sdk (compatibility date 2026-04-21) production imports `workers`
// only from the bundle's python_modules/ (workerd: src/pyodide/python-entrypoint-helper.ts,
// injectWorkersApi), so the runtime takes it from there and nowhere else.
export function findSdk(bundle) {
  const init = bundle.files.find((f) => f.name === "python_modules/workers/__init__.py");
  if (!init) {
    throw new BundleError(
      "the workers SDK is not in python_modules/, where production imports it from: vendor it with " +
        "`pywrangler sync` (or `pip install --target python_modules workers-runtime-sdk`)",
    );
  }
  const distInfo = bundle.files
    .map((f) => /^python_modules\/workers_runtime_sdk-(.+)\.dist-info\//.exec(f.name)?.[1])
    .find(Boolean);
  return {
    description: `workers-runtime-sdk ${distInfo ?? "(version unknown)"} from python_modules/`,
    jsModulesDirectory: path.join(bundle.outdir, "python_modules", "workers"),
  };
}
