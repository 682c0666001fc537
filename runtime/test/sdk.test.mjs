// SDK parity (issue 11, item 2): the runtime picks the workers SDK as production does. From
// compatibility date 2026-04-21 (enable_python_external_sdk, src/workerd/io/compatibility-date.capnp)
// workerd imports `workers` only from the bundle's python_modules/ and leaves stubs in
// site-packages that raise "No module named 'workers'" (src/pyodide/python-entrypoint-helper.ts,
// injectWorkersApi); before it, workerd injects a built-in SDK this runtime does not emulate, so it
// refuses. Python-relevant flags follow the date (src/workerd/io/compatibility-date.c++), e.g.
// `.pth` files in python_modules/ run only under python_process_pth_files (2026-05-26;
// src/pyodide/internal/setup_python_search_path.py).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { resolveCompatibility, unsupportedPythonSetup } from "../lib/compat.mjs";
import { startWorker, wranglerToml } from "../testing/worker-process.mjs";

const NOW = Date.parse("2026-11-27T12:00:00Z");

function setup(date, flags = ["python_workers"]) {
  const resolved = resolveCompatibility({ date, flags, now: NOW });
  return { resolved, problem: unsupportedPythonSetup({ date, resolved }) };
}

describe("compatibility flags follow the date as workerd resolves them", () => {
  test("the external SDK starts on 2026-04-21; the day before is workerd's built-in SDK, refused", () => {
    assert.equal(setup("2026-04-21").resolved.enable_python_external_sdk, true);
    assert.equal(setup("2026-04-20").resolved.enable_python_external_sdk, false);
    assert.match(setup("2026-04-20").problem, /compatibility_date 2026-04-20 is before 2026-04-21.*built-in Python SDK.*set compatibility_date to 2026-04-21 or later/);
    assert.equal(setup("2026-04-21").problem, null);
  });

  test("a disable flag wins over the date, and naming both is production's contradiction error", () => {
    const disabled = setup("2026-08-22", ["python_workers", "disable_python_external_sdk"]);
    assert.equal(disabled.resolved.enable_python_external_sdk, false);
    assert.match(disabled.problem, /disable_python_external_sdk is set/);
    assert.throws(
      () => resolveCompatibility({ date: "2026-08-22", flags: ["python_workers", "enable_python_external_sdk", "disable_python_external_sdk"], now: NOW }),
      /^CompatibilityError: Compatibility flags are mutually contradictory: enable_python_external_sdk vs disable_python_external_sdk$/,
    );
  });

  test("implied flags need the implying flag and the date; each flag's own date applies", () => {
    const before = setup("2025-09-28").resolved;
    const after = setup("2025-09-29").resolved;
    assert.equal(before.python_workers_20250116, false);
    assert.equal(after.python_workers_20250116, true);
    // Implied by an implied flag (python_workers → python_workers_20250116 → dedicated snapshot).
    assert.equal(setup("2025-10-16").resolved.python_dedicated_snapshot, true);
    assert.equal(setup("2026-05-25").resolved.python_process_pth_files, false);
    assert.equal(setup("2026-05-26").resolved.python_process_pth_files, true);
    assert.equal(setup("2026-02-16").resolved.python_request_headers_preserve_commas, false);
    assert.equal(setup("2026-02-17").resolved.python_request_headers_preserve_commas, true);
  });

  test("other Pyodide releases, experimental flags and future dates are refused", () => {
    assert.match(setup("2026-08-22", ["python_workers", "python_workers_20260610"]).problem, /Pyodide 314/);
    assert.match(setup("2026-08-22", ["python_workers", "no_python_workers_20250116"]).problem, /Pyodide 0\.26/);
    assert.throws(() => setup("2026-08-22", ["python_workers", "python_workers_20260817"]), /is experimental and cannot yet be used in Workers deployed to Cloudflare/);
    assert.throws(() => setup("2026-11-28"), /Can't set compatibility date in the future: 2026-11-28/);
    assert.throws(() => setup("yesterday"), /compatibility_date must be a date/);
  });

  test("flag names and dates are checked as workerd checks them, not only the Python ones", () => {
    // src/workerd/io/compatibility-date-test.c++ has these messages.
    assert.throws(() => setup("2026-05-00"), /^CompatibilityError: Invalid compatibility date: 2026-05-00$/);
    assert.throws(() => setup("2026-02-30"), /Invalid compatibility date: 2026-02-30/);
    assert.throws(() => setup("2026-08-22", ["python_workers", "python_workers"]), /Compatibility flag specified multiple times: python_workers/);
    assert.throws(() => setup("2026-08-22", ["python_workers", "no_such_flag_xyz"]), /No such compatibility flag: no_such_flag_xyz/);
    assert.throws(
      () => setup("2026-08-22", ["python_workers", "streams_enable_constructors", "streams_disable_constructors"]),
      /mutually contradictory: streams_enable_constructors vs streams_disable_constructors/,
    );
    assert.throws(() => setup("2026-08-22", ["python_workers", "experimental"]), /The compatibility flag experimental is experimental/);
    assert.equal(setup("2026-08-22", ["python_workers", "nodejs_compat"]).problem, null);
  });
});

const REPORT = `
import sys
import _cloudflare_compat_flags as flags
from workers import Response, WorkerEntrypoint
import workers


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        import json
        return Response(json.dumps({
            "sdk": workers.__file__,
            "pth_ran": getattr(sys, "pth_ran", False),
            "pth_files": flags.python_process_pth_files,
            "commas": flags.python_request_headers_preserve_commas,
        }))
`;
// A .pth file in python_modules/: production executes its `import` line only under
// python_process_pth_files.
const PTH = { "python_modules/zz_probe.pth": "import sys; sys.pth_ran = True\n" };

async function startRefused(options) {
  const error = await startWorker(options).then(
    async (worker) => {
      await worker.stop();
      return null;
    },
    (failure) => failure,
  );
  assert.ok(error, "the runtime started, but should have refused");
  return error.message;
}

describe("the runtime takes the SDK from python_modules/ only", () => {
  let worker;
  before(async () => {
    worker = await startWorker({ wrangler: wranglerToml({ name: "sdk-current" }), entry: REPORT, files: PTH });
  });
  after(() => worker?.stop());

  test("workers is imported from the bundle's python_modules/, and the date's flags reach Python", async () => {
    const seen = await (await fetch(worker.url)).json();
    assert.equal(seen.sdk, "/session/metadata/python_modules/workers/__init__.py");
    assert.deepEqual([seen.pth_ran, seen.pth_files, seen.commas], [true, true, true]);
  });

  test("before python_process_pth_files (2026-05-26) a .pth file in python_modules/ is ignored", async () => {
    const wrangler = wranglerToml({ name: "sdk-no-pth" }).replace('compatibility_date = "2026-08-22"', 'compatibility_date = "2026-05-25"');
    const older = await startWorker({ wrangler, entry: REPORT, files: PTH });
    try {
      const seen = await (await fetch(older.url)).json();
      assert.deepEqual([seen.pth_ran, seen.pth_files], [false, false]);
    } finally {
      await older.stop();
    }
  });

  test("without python_modules/workers the runtime refuses to start, with the one-line fix", async () => {
    const message = await startRefused({ wrangler: wranglerToml({ name: "sdk-missing" }), entry: REPORT, vendorSdk: false });
    assert.match(message, /the workers SDK is not in python_modules\/, where production imports it from: vendor it with `pywrangler sync`/);
  });

  test("a compatibility date before 2026-04-21 is refused rather than run on a different SDK", async () => {
    const wrangler = wranglerToml({ name: "sdk-builtin" }).replace('compatibility_date = "2026-08-22"', 'compatibility_date = "2026-04-20"');
    const message = await startRefused({ wrangler, entry: REPORT });
    assert.match(message, /compatibility_date 2026-04-20 is before 2026-04-21, so production would run workerd's built-in Python SDK/);
  });
});
