// Loads Pyodide (the interpreter production Python Workers run), installs the workers SDK into
// its site-packages, registers the two JS modules the SDK imports, writes the Worker's bundle
// where workerd puts it and imports the main module by the name workerd uses.
//
// It is the Worker's isolate: after a fatal interpreter error (a stack overflow, running out of
// memory) Pyodide can no longer be used, and workerd throws such an isolate away and starts the
// next request in a fresh one. So does this class: calls in flight fail, and a fresh interpreter
// is loaded with the same Worker for the calls that follow.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadPyodide } from "pyodide";
import { logError, step } from "../log.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const MODULE_ROOT = "/session/metadata";

export class WorkerLoadError extends Error {}

// What a call in flight fails with when its isolate is lost.
export class IsolateLost extends Error {}

function pythonErrorMessage(error) {
  return String(error?.message ?? error);
}

export class PythonWorker {
  // Incremented each time the isolate is replaced; instances made in an older one are gone.
  generation = 0;
  replacing = false;
  // Set by the runtime: runs a function outside any invocation's accounting.
  outsideInvocations = (fn) => fn();
  #ready = Promise.resolve();
  // Told when the current isolate is lost. Listeners, not one long-lived promise: each call or
  // response racing such a promise would stay reachable from it (with its result) until then.
  #lostListeners = new Set();

  // Loading the interpreter needs nothing from the Worker, so it can start first.
  static async boot({ onStdout }) {
    const worker = new PythonWorker();
    worker.onStdout = onStdout;
    worker.pyodide = await step("pyodide load", () => worker.#loadInterpreter());
    return worker;
  }

  async #loadInterpreter() {
    const pyodide = await loadPyodide({ stdout: this.onStdout, stderr: this.onStdout, env: { PYTHONUNBUFFERED: "1" } });
    // Pyodide calls this once it has given up on itself (src/js/api.ts, fatal_error).
    pyodide._api.on_fatal = (error) => this.#lost(error);
    if (this.interruptBuffer) pyodide.setInterruptBuffer(this.interruptBuffer);
    return pyodide;
  }

  // Where the CPU-limit watchdog writes SIGXCPU (limits.mjs); every isolate listens to it.
  useInterruptBuffer(buffer) {
    this.interruptBuffer = buffer;
    this.pyodide?.setInterruptBuffer(buffer);
  }

  // The isolate's WebAssembly memory: every Python object lives in it, and it never shrinks.
  // A lost isolate's memory is nobody's while its replacement loads.
  memoryBytes() {
    if (this.replacing) return 0;
    return this.pyodide?._module?.HEAP8?.byteLength ?? 0;
  }

  // Ends this isolate as production ends one that went over a limit it cannot recover from.
  condemn(reason) {
    if (!this.replacing) this.#lost(new Error(reason));
  }

  #lost(error) {
    // The interpreter exits (124) when an invocation ran on after CpuLimitExceeded (pyworker_host).
    const ranOn = /exit\(124\)/.test(String(error?.message ?? error));
    const described = ranOn
      ? "Error: Worker exceeded CPU time limit. (the code ran on after CpuLimitExceeded)"
      : error?.message
        ? `${error.name ?? "Error"}: ${error.message}`
        : String(error);
    const cause = described.split("\n")[0];
    logError(`✘ the Python isolate was lost (${cause}): calls in flight fail, the next ones run in a fresh isolate`);
    this.generation += 1;
    const lost = new IsolateLost(`the Python isolate was lost to a fatal error: ${cause}`);
    const listeners = [...this.#lostListeners];
    this.#lostListeners.clear();
    for (const listener of listeners) listener(lost);
    this.#startReplacement();
  }

  #startReplacement() {
    this.replacing = true;
    // Loading a fresh isolate is not work of whichever invocation happened to notice the loss.
    const replacement = this.outsideInvocations(() => this.#replace());
    this.#ready = replacement;
    replacement.catch((reason) => {
      // Lost again while loading: a newer replacement is already under way.
      if (this.#ready === replacement) logError(`✘ a fresh isolate could not be started: ${reason?.stack ?? reason}`);
    });
  }

  async #replace() {
    this.pyodide = await step("pyodide load (fresh isolate)", () => this.#loadInterpreter());
    await this.load(this.loadOptions);
    this.replacing = false;
  }

  // Resolves once the current isolate can take calls (at once, unless one is being replaced). A
  // replacement that was itself lost is waited past; one that failed otherwise fails this call
  // and is tried again by the next.
  async ready() {
    for (;;) {
      const current = this.#ready;
      try {
        await current;
      } catch (error) {
        if (current !== this.#ready) continue;
        this.#startReplacement();
        throw error;
      }
      if (current === this.#ready) return;
    }
  }

  // Calls `listener(error)` if the current isolate is lost; returns the function that unsubscribes.
  onLost(listener) {
    this.#lostListeners.add(listener);
    return () => this.#lostListeners.delete(listener);
  }

  // `promise`, or its failure with IsolateLost if the isolate is lost first: calls in flight and
  // work that outlives a call (waitUntil) end with it, as workerd cancels a lost isolate's tasks.
  untilLost(promise) {
    return new Promise((resolve, reject) => {
      const unsubscribe = this.onLost(reject);
      Promise.resolve(promise)
        .then(resolve, reject)
        .finally(unsubscribe);
    });
  }

  // A call into Python that fails, rather than hangs, if the isolate is lost while it runs.
  #inIsolate(call) {
    return this.untilLost(Promise.resolve().then(call));
  }

  async load(options) {
    const { bundle, sdk, compatibility, helper } = options;
    this.loadOptions = options;
    const worker = this;
    worker.bundle = bundle;
    worker.compatibility = compatibility;
    worker.#installSitePackages();
    worker.#registerJsModules(helper, compatibility);
    await step(`worker modules (${bundle.files.length} files; ${sdk.description})`, () => worker.#writeBundle());
    worker.host = worker.pyodide.pyimport("pyworker_host");
    worker.main = await step(`main module import (${bundle.mainModule})`, () => worker.#importMain());
    worker.classes = worker.host.entrypoint_classes(worker.main);
  }

  // site-packages as production's external-SDK era leaves it: `workers` and `asgi` are stubs that
  // raise workerd's own error, so only a copy vendored in python_modules/ (earlier on sys.path) is
  // importable (src/pyodide/python-entrypoint-helper.ts, injectWorkersApi).
  #installSitePackages() {
    const sitePackages = this.pyodide.runPython("import site; site.getsitepackages()[0]");
    const stub = (name) =>
      [
        `err = ModuleNotFoundError("No module named '${name}'", name="${name}")`,
        `err.add_note("You need to update to workers-py >= 1.9 or to pass disable_python_external_sdk")`,
        "raise err",
      ].join("\n");
    this.#write(path.posix.join(sitePackages, "workers", "__init__.py"), stub("workers"));
    this.#write(path.posix.join(sitePackages, "asgi.py"), stub("asgi"));
    this.#write(path.posix.join(sitePackages, "pyworker_host.py"), fs.readFileSync(path.join(HERE, "pyworker_host.py")));
  }

  #registerJsModules(helper, compatibility) {
    this.pyodide.registerJsModule("_pyodide_entrypoint_helper", helper);
    this.pyodide.registerJsModule("_pyworker_limits", { sigxcpu: () => this.sigxcpu?.() ?? "no" });
    this.pyodide.registerJsModule("_cloudflare_compat_flags", { ...compatibility });
  }

  #write(target, contents) {
    this.pyodide.FS.mkdirTree(path.posix.dirname(target));
    this.pyodide.FS.writeFile(target, contents);
  }

  #writeBundle() {
    for (const file of this.bundle.files) this.#write(path.posix.join(MODULE_ROOT, file.name), fs.readFileSync(file.source));
    // sys.path as workerd's setup_python_search_path.py builds it: the module root first,
    // python_modules/ just before site-packages (so it shadows site-packages, not the standard
    // library), and its .pth files processed only under python_process_pth_files.
    this.pyodide.runPython(`
import os, sys, site
os.chdir(${JSON.stringify(MODULE_ROOT)})
sys.path.insert(0, ${JSON.stringify(MODULE_ROOT)})
_modules = ${JSON.stringify(MODULE_ROOT + "/python_modules")}
sys.path.insert(next(i for i, p in enumerate(sys.path) if "site-packages" in p), _modules)
if ${this.compatibility.python_process_pth_files ? "True" : "False"}:
    site.addsitedir(_modules)
del _modules
`);
  }

  async #importMain() {
    const name = this.bundle.mainModule.replace(/\.py$/, "");
    const importer = this.pyodide.runPython(`
import importlib
def _import_main(name):
    try:
        return importlib.import_module(name), None
    except SyntaxError as error:
        return None, f"SyntaxError in {error.filename}:{error.lineno}: {error.msg}"
    except ModuleNotFoundError as error:
        if error.name == name:
            return None, f"main module {name}.py is not in the bundle"
        return None, f"ModuleNotFoundError while importing the main module: {error}"
    except BaseException as error:
        import traceback
        return None, "".join(traceback.format_exception(error))
_import_main`);
    const [module, problem] = importer(name).toJs({ depth: 1 });
    importer.destroy();
    if (problem) throw new WorkerLoadError(this.bundle.describePath(problem));
    return module;
  }

  classNames(kind) {
    return (this.classes[kind] ?? []).map((c) => c.className);
  }

  // Creates a Python instance of an exported class: constructor(ctx, env), like workerd.
  construct(className, args) {
    const cls = this.main[className];
    if (typeof cls !== "function") throw new TypeError(`There is no '${className}' class in the Python Worker's main module`);
    return cls(...args);
  }

  async call(instance, method, args, { relaxed }) {
    if (typeof instance[method] !== "function") throw new TypeError(`Method ${method} does not exist`);
    return await this.#inIsolate(() => this.host.call_method(relaxed, instance, method, ...args));
  }

  async callHandler(instance, method, args) {
    if (typeof instance[method] !== "function") return;
    await this.#inIsolate(() => this.host.call_handler(instance, method, ...args));
  }

  // The Python traceback of an error raised by Worker code, with bundle paths mapped to source.
  describeError(error) {
    return this.bundle.describePath(pythonErrorMessage(error));
  }
}

// The JS side of the SDK's `_pyodide_entrypoint_helper` module.
export function entrypointHelper({ env, waitUntil, sdkJsDirectory, classes }) {
  const workersModule = {
    env,
    waitUntil,
    WorkerEntrypoint: classes.WorkerEntrypoint,
    DurableObject: classes.DurableObject,
    WorkflowEntrypoint: classes.WorkflowEntrypoint,
    RpcTarget: classes.RpcTarget,
  };
  const socketsModule = {
    connect() {
      throw new Error("cloudflare:sockets connect() is not supported by the local runtime");
    },
  };
  const patched = new WeakSet();
  return {
    cloudflareWorkersModule: workersModule,
    cloudflareSocketsModule: socketsModule,
    workerEntrypoint: classes.WorkerEntrypoint,
    async doAnImport(name) {
      if (name === "cloudflare:workers") return workersModule;
      if (name === "cloudflare:sockets") return socketsModule;
      const sdkPrefix = "python_modules/workers/";
      if (name.startsWith(sdkPrefix) && sdkJsDirectory) {
        return import(pathToFileURL(path.join(sdkJsDirectory, name.slice(sdkPrefix.length))).href);
      }
      throw new Error(`Cannot import '${name}': the local runtime provides cloudflare:workers and cloudflare:sockets`);
    },
    // A Python awaitable handed to JS is a proxy that Pyodide destroys when the call returns,
    // so waitUntil keeps its own copy until the awaitable settles.
    patchWaitUntil(ctx) {
      if (Object.prototype.toString.call(ctx) !== "[object ExecutionContext]" || patched.has(ctx)) return;
      const original = ctx.waitUntil.bind(ctx);
      ctx.waitUntil = (awaitable) => {
        const own = typeof awaitable?.copy === "function" ? awaitable.copy() : awaitable;
        original(
          (async () => {
            try {
              await own;
            } finally {
              own?.destroy?.();
            }
          })(),
        );
      };
      patched.add(ctx);
    },
    *patch_env_helper(patch) {
      const entries = patch instanceof Map ? [...patch.entries()] : Object.entries(patch);
      const saved = entries.map(([key]) => [key, Object.getOwnPropertyDescriptor(env, key)]);
      for (const [key, value] of entries) env[key] = value;
      try {
        yield;
      } finally {
        for (const [key, descriptor] of saved) {
          if (descriptor) Object.defineProperty(env, key, descriptor);
          else delete env[key];
        }
      }
    },
  };
}

