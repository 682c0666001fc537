import fs from "node:fs";

// Compatibility flags that change how a Python Worker runs, resolved from the Worker's
// compatibility date and flags the way workerd resolves them (src/workerd/io/compatibility-date.c++:
// a flag is on when named, or when the date is on or after its enable date, or when a flag that
// implies it is on and the date is on or after the implication's date; a disable flag wins).
// The table is the Python-relevant part of src/workerd/io/compatibility-date.capnp at workerd
// release 2026-08-22; each entry keeps the capnp's names and dates so it can be checked there.
export const PYTHON_FLAGS = [
  { name: "python_workers" },
  { name: "python_workers_development" },
  // Pyodide 0.28.2 (Python 3.13): the interpreter this runtime runs.
  { name: "python_workers_20250116", disable: "no_python_workers_20250116", impliedBy: ["python_workers", "2025-09-29"] },
  // Pyodide 314.0.4 (Python 3.14): opt-in only, and not the interpreter this runtime runs.
  { name: "python_workers_20260610", disable: "no_python_workers_20260610" },
  { name: "python_workers_20260817", disable: "no_python_workers_20260817" },
  { name: "python_workflows", disable: "disable_python_workflows", impliedBy: ["python_workers", "2025-09-20"] },
  { name: "python_no_global_handlers", disable: "disable_python_no_global_handlers", date: "2025-08-14" },
  { name: "python_workers_force_new_vendor_path", date: "2025-08-11" },
  { name: "python_dedicated_snapshot", disable: "disable_python_dedicated_snapshot", impliedBy: ["python_workers_20250116", "2025-10-16"] },
  { name: "python_check_rng_state", disable: "disable_python_check_rng_state", impliedBy: ["python_workers", "2025-12-16"] },
  { name: "python_request_headers_preserve_commas", disable: "disable_python_request_headers_preserve_commas", date: "2026-02-17" },
  { name: "python_workflows_implicit_dependencies", disable: "no_python_workflows_implicit_dependencies", impliedBy: ["python_workers", "2026-02-25"] },
  { name: "enable_python_external_sdk", disable: "disable_python_external_sdk", date: "2026-04-21" },
  { name: "python_process_pth_files", disable: "disable_python_process_pth_files", date: "2026-05-26" },
];

// The first date on which production stops injecting its own built-in SDK.
export const EXTERNAL_SDK_DATE = "2026-04-21";

// Every flag workerd knows (release 2026-08-22), for production's checks on the names themselves.
const ALL_FLAGS = JSON.parse(fs.readFileSync(new URL("./compat-flag-names.json", import.meta.url), "utf8")).flags;
const KNOWN = new Set(ALL_FLAGS.flatMap((f) => [f.enable, f.disable].filter(Boolean)));

export class CompatibilityError extends Error {
  name = "CompatibilityError";
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function todayUtc(now) {
  return new Date(now).toISOString().slice(0, 10);
}

// Returns { flags: {name: bool} for every flag in the table, plus any other flag named }, or throws
// a CompatibilityError with the message production (or this runtime's narrower support) gives.
export function resolveCompatibility({ date, flags = [], now = Date.now() }) {
  if (typeof date !== "string" || !DATE.test(date)) {
    throw new CompatibilityError(`compatibility_date must be a date like "${EXTERNAL_SDK_DATE}" (got ${JSON.stringify(date)})`);
  }
  // workerd's messages (src/workerd/io/compatibility-date.c++ and its test).
  const parsed = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date) {
    throw new CompatibilityError(`Invalid compatibility date: ${date}`);
  }
  if (date > todayUtc(now)) throw new CompatibilityError(`Can't set compatibility date in the future: ${date}`);
  const named = new Set();
  for (const flag of flags) {
    if (named.has(flag)) throw new CompatibilityError(`Compatibility flag specified multiple times: ${flag}`);
    if (!KNOWN.has(flag)) throw new CompatibilityError(`No such compatibility flag: ${flag}`);
    named.add(flag);
  }
  for (const flag of ALL_FLAGS) {
    if (flag.enable && flag.disable && named.has(flag.enable) && named.has(flag.disable)) {
      throw new CompatibilityError(`Compatibility flags are mutually contradictory: ${flag.enable} vs ${flag.disable}`);
    }
    if (flag.experimental && named.has(flag.enable)) {
      throw new CompatibilityError(`The compatibility flag ${flag.enable} is experimental and cannot yet be used in Workers deployed to Cloudflare.`);
    }
  }
  const resolved = {};
  for (const flag of PYTHON_FLAGS) {
    const enabled = named.has(flag.name);
    const disabled = flag.disable !== undefined && named.has(flag.disable);
    resolved[flag.name] = !disabled && (enabled || (flag.date !== undefined && date >= flag.date));
  }
  // Implications, in table order: each implying flag precedes the flags it implies.
  for (const flag of PYTHON_FLAGS) {
    if (!flag.impliedBy || (flag.disable && named.has(flag.disable))) continue;
    const [by, since] = flag.impliedBy;
    if (resolved[by] && date >= since) resolved[flag.name] = true;
  }
  // Flags outside the table reach Python as named (workerd exposes every flag it knows).
  for (const name of named) if (!(name in resolved)) resolved[name] = true;
  return resolved;
}

// What this runtime can run: Pyodide 0.28.2 with the SDK vendored in the bundle. Anything else
// production would run differently, so the runtime refuses it rather than pretend.
export function unsupportedPythonSetup({ date, resolved }) {
  if (!resolved.python_workers) return `compatibility_flags must include "python_workers"`;
  if (!resolved.python_workers_20250116) {
    return `this compatibility date and flags select Pyodide 0.26 in production; the local runtime runs Pyodide 0.28.2 (python_workers_20250116): remove no_python_workers_20250116 or use a date from 2025-09-29 on`;
  }
  if (resolved.python_workers_20260610) {
    return `python_workers_20260610 selects Pyodide 314 (Python 3.14) in production; the local runtime runs Pyodide 0.28.2: remove the flag`;
  }
  if (!resolved.enable_python_external_sdk) {
    const why = date < EXTERNAL_SDK_DATE ? `compatibility_date ${date} is before ${EXTERNAL_SDK_DATE}` : "disable_python_external_sdk is set";
    return `${why}, so production would run workerd's built-in Python SDK, which the local runtime does not emulate: set compatibility_date to ${EXTERNAL_SDK_DATE} or later (and vendor workers-runtime-sdk into python_modules/)`;
  }
  return null;
}
