// The Worker's code is exactly what `wrangler deploy --dry-run --outdir` emits, i.e. what would
// be uploaded; the workers SDK comes from the project's vendored `python_modules/` (what
// `pywrangler sync` produces) or from the installed `workers-runtime-sdk` distribution.
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

function distInfoFiles(distInfo, sitePackages) {
  const record = fs.readFileSync(path.join(distInfo, "RECORD"), "utf8");
  return record
    .split("\n")
    .map((line) => line.split(",")[0])
    .filter((name) => name && !name.startsWith("..") && !name.includes("__pycache__"))
    .map((name) => ({ target: name, source: path.join(sitePackages, name) }))
    .filter((file) => fs.existsSync(file.source));
}

function findInstalledSdk(root) {
  // An active virtualenv first, then the nearest .venv at or above the project.
  const venvs = [process.env.VIRTUAL_ENV];
  for (let dir = root; ; dir = path.dirname(dir)) {
    venvs.push(path.join(dir, ".venv"));
    if (path.dirname(dir) === dir) break;
  }
  for (const venv of venvs.filter(Boolean)) {
    const lib = path.join(venv, "lib");
    if (!fs.existsSync(lib)) continue;
    for (const python of fs.readdirSync(lib)) {
      const sitePackages = path.join(lib, python, "site-packages");
      if (!fs.existsSync(sitePackages)) continue;
      const distInfo = fs.readdirSync(sitePackages).find((d) => /^workers_runtime_sdk-.*\.dist-info$/.test(d));
      if (distInfo) {
        const version = distInfo.replace(/^workers_runtime_sdk-|\.dist-info$/g, "");
        return {
          description: `workers-runtime-sdk ${version} from ${path.relative(root, sitePackages) || sitePackages}`,
          files: distInfoFiles(path.join(sitePackages, distInfo), sitePackages),
          jsModulesDirectory: path.join(sitePackages, "workers"),
        };
      }
    }
  }
  return null;
}

export function findSdk(config, bundle) {
  if (bundle.files.some((f) => f.name === "python_modules/workers/__init__.py")) {
    return {
      description: "vendored in python_modules/",
      files: [],
      jsModulesDirectory: path.join(bundle.outdir, "python_modules", "workers"),
    };
  }
  const installed = findInstalledSdk(config.root);
  if (installed) return installed;
  throw new BundleError(
    "the workers SDK was not found: install workers-runtime-sdk into the project's .venv " +
      "(or an active virtualenv), or vendor it into python_modules/ with `pywrangler sync`",
  );
}
