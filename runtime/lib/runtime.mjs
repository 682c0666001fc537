// Wires the pieces together: config -> bundle + miniflare + interpreter -> env -> HTTP server.
import path from "node:path";
import { AssetServer } from "./assets.mjs";
import { buildBundle, findSdk } from "./bundle.mjs";
import { ConfigError, loadConfig, loadDevVars } from "./config.mjs";
import { ExecutionContext, buildEnv } from "./env.mjs";
import { describeIndex } from "./bindings/vectorize.mjs";
import { chargeExternalFetch, enforceLimits, LimitError, limitsFor, MESSAGES, Meter } from "./limits.mjs";
import { log, logError, sinceStart, step } from "./log.mjs";
import { applyMigrations, startMiniflare } from "./miniflare-host.mjs";
import {
  armFault,
  clearFaults,
  getTrace,
  listFaults,
  listTraces,
  outsideInvocations,
  runInvocation,
  Trace,
  useMeter,
} from "./observe.mjs";
import { entrypointHelper, PythonWorker } from "./python/interpreter.mjs";
import { summarizeDecisions, toBatch } from "./queues.mjs";
import { Bridge } from "./bindings/bridge.mjs";
import { D1Database } from "./bindings/d1.mjs";
import { WorkflowEngine } from "./bindings/workflows.mjs";
import { wrapBinding } from "./bindings/wrap.mjs";
import {
  completeUpgrade,
  EDGE_REQUEST_BODY_LIMIT,
  refuseTooLarge,
  startServer,
  toWebRequest,
  writeRawResponse,
  writeWebResponse,
} from "./server.mjs";
import { FixedLengthStream } from "./streams.mjs";
import { installWebSocketGlobals } from "./websockets.mjs";
import { limitWebCrypto } from "./webcrypto.mjs";
import { installDigestStream } from "./digest-stream.mjs";

export class StartupError extends Error {}

const TRACE_HEADER = "x-pyworker-trace-id";
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

// Base classes handed to the SDK as cloudflare:workers exports; the Python classes do the work.
const JS_CLASSES = {
  WorkerEntrypoint: class WorkerEntrypoint {},
  DurableObject: class DurableObject {},
  WorkflowEntrypoint: class WorkflowEntrypoint {},
  RpcTarget: class RpcTarget {},
};


export async function startRuntime({
  configPath,
  port,
  host = "127.0.0.1",
  persistTo,
  testMode = false,
  testScheduled = false,
  vars = {},
  requestBodyLimit = EDGE_REQUEST_BODY_LIMIT,
  workersPlan = "paid",
  vectorizeDelayMs,
}) {
  const config = loadConfig(configPath);
  let limits;
  try {
    limits = limitsFor(config.limits, workersPlan);
  } catch (error) {
    if (error instanceof LimitError) throw new ConfigError(`${config.path}: ${error.message}`);
    throw error;
  }
  const persistRoot = path.resolve(persistTo);
  const devVars = loadDevVars(config);
  log(`config ${config.path}; state ${persistRoot}/v3${devVars.file ? `; vars from ${path.basename(devVars.file)}` : ""}`);
  globalThis.FixedLengthStream ??= FixedLengthStream;
  installWebSocketGlobals();
  limitWebCrypto();
  installDigestStream();

  let queueHandler = async () => ({ decisions: [], error: "the Python Worker is not loaded yet" });
  // What the Worker prints, with bundle paths (/session/metadata/...) shown as project paths.
  let describePaths = (line) => line;
  const booting = PythonWorker.boot({ onStdout: (line) => process.stdout.write(`${describePaths(line)}\n`) });
  const [bundle, mini] = await Promise.all([
    step("bundle (wrangler deploy --dry-run)", () => buildBundle(config)),
    step("miniflare start", () =>
      startMiniflare({ config, persistRoot, onQueueBatch: (payload) => queueHandler(payload) }),
    ),
  ]);
  const bridge = new Bridge(mini.url);
  for (const d1 of config.d1) {
    const db = new D1Database(bridge, d1.binding);
    const applied = await step(`D1 migrations for ${d1.binding}`, () => applyMigrations(db, d1));
    if (applied.length) log(`  applied ${applied.join(", ")}`);
  }
  describePaths = bundle.describePath;
  const sdk = findSdk(bundle);
  const python = await booting;
  const { env, namespaces, ai } = buildEnv({
    config,
    devVars: { ...devVars.vars, ...vars },
    bridge,
    persistRoot,
    python,
    vectorizeDelayMs,
  });
  if (ai) log(`AI binding ${config.ai.binding}: ${ai.mode}${ai.remote ? "" : " (deterministic, schema-compatible; not a model)"}`);
  for (const { binding, indexName } of config.vectorize) log(`Vectorize ${binding}: ${describeIndex(persistRoot, indexName)}`);
  for (const { binding, type, section } of config.notEmulated) {
    logError(`⚠ binding "${binding}" (${type}, [${section}]) is declared but not emulated locally: using it raises an error`);
  }

  const assets = config.assets && new AssetServer(config.assets);
  if (assets) log(`static assets from ${path.relative(process.cwd(), assets.directory) || "."}`);
  if (assets && config.assets.binding) {
    // A Fetcher, as workerd presents the [assets] binding (the SDK wraps it by that name).
    const binding = { fetch: (input, init) => assets.fetchFromBinding(new Request(input, init)) };
    env[config.assets.binding] = wrapBinding(binding, { binding: config.assets.binding, type: "Fetcher" });
  }

  const pending = new Set();
  const workflows = config.workflows.map((w) => {
    const engine = new WorkflowEngine({
      name: w.name,
      className: w.className,
      persistRoot: `${persistRoot}/v3`,
      python,
      env: () => env,
      newContext: () => new ExecutionContext(pending, (promise) => python.untilLost(promise)),
      plan: limits.plan,
    });
    env[w.binding] = wrapBinding(engine.binding(), { binding: w.binding, type: "WorkflowImpl" });
    return engine;
  });
  const helper = entrypointHelper({
    env,
    waitUntil: (promise) => new ExecutionContext(pending, (promise) => python.untilLost(promise)).waitUntil(promise),
    sdkJsDirectory: sdk.jsModulesDirectory,
    classes: JS_CLASSES,
  });
  // Over a limit, workerd ends the isolate: the next invocations run in a fresh one.
  const meter = new Meter({
    limits,
    memoryBytes: () => python.memoryBytes(),
    onExceeded: (_trace, kind) => python.condemn(MESSAGES[kind]),
  });
  python.useInterruptBuffer(meter.signal);
  python.sigxcpu = () => meter.sigxcpu();
  python.outsideInvocations = outsideInvocations;
  await python.load({ bundle, sdk, compatibility: config.compatibility, helper });
  checkEntrypoints(config, python);
  enforceLimits(limits);
  meter.start();
  useMeter(meter);
  countExternalFetches();
  log(
    `limits (Workers ${limits.plan}): CPU ${limits.cpuMs} ms, memory ${limits.memoryBytes / 1e6} MB ` +
      `(isolate at ${mb(python.memoryBytes())} MB), ${limits.subrequests} subrequests per invocation`,
  );
  for (const namespace of namespaces) namespace.restoreAlarms();
  for (const engine of workflows) engine.resumeUnfinished();

  // A Default instance per event, as workerd creates one per request.
  async function withDefault(use) {
    await python.ready(); // a fresh isolate, if the last one was lost
    const ctx = new ExecutionContext(pending, (promise) => python.untilLost(promise));
    const instance = python.construct("Default", [ctx, env]);
    try {
      return await use(instance, ctx);
    } finally {
      instance.destroy?.();
    }
  }
  // fetch, queue and scheduled get (event, env, ctx), env and ctx undefined for a class entrypoint
  // (workerd: api/global-scope.c++ passes them, io/worker.c++ leaves them empty); only fetch is
  // called the relaxed way (src/pyodide/python-entrypoint-helper.ts).
  const invocation = runInvocation;
  const invokeFetch = (request) =>
    withDefault((instance) => python.call(instance, "fetch", [request, undefined, undefined], { relaxed: true }));
  const invokeEvent = (method, event) =>
    withDefault((instance) => python.call(instance, method, [event, undefined, undefined], { relaxed: false }));

  queueHandler = async (payload) => {
    const started = performance.now();
    const { batch, decisions } = toBatch(payload);
    const trace = new Trace("queue", payload.queue);
    trace.messages = batch.messages.length;
    try {
      await invocation(trace, () => invokeEvent("queue", batch));
      if (trace.exceeded) throw new Error(MESSAGES[trace.exceeded]);
      log(`queue ${payload.queue}: ${summarizeDecisions(decisions, batch.messages.length)} (${ms(started)} ms, ${usage(trace)})`);
      return { decisions, trace: trace.id };
    } catch (error) {
      const why = trace.exceeded ? MESSAGES[trace.exceeded] : python.describeError(error);
      logError(`queue ${payload.queue}: handler raised (${ms(started)} ms, ${usage(trace)})\n${why}`);
      return { decisions, trace: trace.id, error: "queue handler raised an exception" };
    } finally {
      trace.finish();
    }
  };

  async function runScheduled(url) {
    const cron = url.searchParams.get("cron") ?? config.crons[0] ?? "";
    const time = Number(url.searchParams.get("time") ?? Date.now());
    const controller = new ScheduledController(time, cron);
    const trace = new Trace("scheduled", cron);
    try {
      await invocation(trace, () => invokeEvent("scheduled", controller));
      if (trace.exceeded) throw new Error(MESSAGES[trace.exceeded]);
      return { ok: true, trace };
    } catch (error) {
      logError(`scheduled "${cron}" raised (${usage(trace)})\n${trace.exceeded ? MESSAGES[trace.exceeded] : python.describeError(error)}`);
      return { ok: false, trace };
    } finally {
      trace.finish();
    }
  }

  async function handle(req, res) {
    const started = performance.now();
    const url = new URL(req.url, "http://localhost");
    if (url.pathname.startsWith("/__runtime/") && testMode) return control(req, res, url);
    if (url.pathname === "/__scheduled" && (testMode || testScheduled)) {
      const time = url.searchParams.get("time");
      if (time !== null && !validScheduledTime(time)) {
        res.writeHead(400, { "content-type": "text/plain" });
        res.end("time must be whole milliseconds since the epoch, in years 1 to 9999");
        return;
      }
      const { ok, trace } = await runScheduled(url);
      res.writeHead(ok ? 200 : 500, { "content-type": "text/plain", [TRACE_HEADER]: trace.id });
      res.end(ok ? "Ran scheduled event" : "Scheduled event raised an exception");
      log(`scheduled ${url.searchParams.get("cron") ?? ""} ${ok ? "ok" : "raised"} (${ms(started)} ms)`);
      return;
    }
    if (FORBIDDEN_METHODS.has(req.method)) {
      // The fetch standard forbids these methods in a Request; the edge answers them itself.
      res.writeHead(405, { "content-type": "text/plain" });
      res.end("Method Not Allowed");
      log(`${req.method} ${url.pathname} 405 (refused before the Worker)`);
      return;
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > requestBodyLimit) {
      refuseTooLarge(res);
      log(`${req.method} ${url.pathname} 413 (body of ${declared} bytes over the edge's ${requestBodyLimit}; refused before the Worker)`);
      return;
    }
    let tooLarge = false;
    const onTooLarge = () => {
      tooLarge = true;
      refuseTooLarge(res);
    };
    const { request, finish } = toWebRequest(req, { port, limit: requestBodyLimit, onTooLarge });
    const asset = assets && (await assets.respond(request));
    const trace = asset ? null : new Trace("fetch", `${req.method} ${url.pathname}`);
    if (trace) holdParsedBodies(request, (peak, kept) => meter.holdBytes(trace, peak, kept));
    let response = asset ?? (await workerResponse(req, url, request, trace));
    if (response.status === 101) {
      // Only an upgrade can switch protocols (workerd refuses a WebSocket response to any other
      // request); the socket handed over is closed, so its other end hears of it.
      logError(`${req.method} ${url.pathname}: the Worker answered 101 to a request that is not a WebSocket upgrade`);
      response.webSocket?.joinTo({ send() {}, close() {} }).close(1011, "not an upgrade request", false);
      response = new Response("Internal Server Error: a WebSocket response to a request that is not an upgrade", {
        status: 500,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    if (tooLarge) {
      await response.body?.cancel();
      log(`${req.method} ${url.pathname} 413 (chunked body over the edge's ${requestBodyLimit} bytes)`);
      return;
    }
    // A body the Worker is still producing is cut off if the invocation goes over a limit.
    // A body the Worker is still producing is cut off if the invocation goes over a limit or its
    // isolate is lost: its producer is gone, and the client must not wait for it.
    const onStop =
      trace && !LIMIT_PAGES.has(response)
        ? (cut) => {
            trace.whenExceeded.then(cut);
            return python.onLost(cut);
          }
        : null;
    await writeWebResponse(response, res, { head: req.method === "HEAD", onStop });
    finish(); // drops whatever body the Worker (or the asset router's 405) left unread
    const spent = asset ? "asset, " : `${usage(trace)}, `;
    log(`${req.method} ${url.pathname}${url.search} ${response.status} (${spent}${ms(started)} ms)`);
    if (trace?.exceeded) logError(`${req.method} ${url.pathname}: ${MESSAGES[trace.exceeded]}`);
  }

  // A WebSocket upgrade: the Worker's fetch decides, as for any request; a 101 with a webSocket
  // joins the client's connection to that socket, anything else is written back as it is.
  async function upgrade(req, socket, head) {
    const started = performance.now();
    const url = new URL(req.url, "http://localhost");
    const { request } = toWebRequest(req, { port, limit: requestBodyLimit });
    const asset = assets && (await assets.respond(request));
    const trace = asset ? null : new Trace("fetch", `${req.method} ${url.pathname}`);
    const response = asset ?? (await workerResponse(req, url, request, trace));
    if (response.status === 101 && response.webSocket) {
      completeUpgrade(req, socket, head, response, (code) => log(`WebSocket ${url.pathname} closed (${code})`));
    } else {
      await writeRawResponse(socket, response);
    }
    log(`${req.method} ${url.pathname} ${response.status} (upgrade; ${asset ? "asset" : usage(trace)}, ${ms(started)} ms)`);
  }

  async function workerResponse(req, url, request, trace) {
    let response;
    try {
      response = await invocation(trace, () => invokeFetch(request));
      if (!(response instanceof Response)) throw new TypeError(`fetch() returned ${response} instead of a Response`);
    } catch (error) {
      trace.finish();
      if (!trace.exceeded) logError(`${req.method} ${url.pathname} raised:\n${python.describeError(error)}`);
      response = new Response("Internal Server Error: the Worker raised an exception", {
        status: 500,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    trace.finish();
    // Over a limit: the client gets the edge's error 1102 page, whatever the Worker answered.
    if (trace.exceeded) {
      await response.body?.cancel().catch(() => {});
      response = resourceLimitPage();
    }
    return testMode ? withHeader(response, TRACE_HEADER, trace.id) : response;
  }

  async function control(req, res, url) {
    const send = (status, value) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[1] === "health") return send(200, { ok: true, pid: process.pid });
    if (parts[1] === "memory") return send(200, process.memoryUsage());
    if (parts[1] === "traces" && parts[2]) {
      const trace = getTrace(parts[2]);
      return trace ? send(200, trace) : send(404, { error: "no such trace" });
    }
    if (parts[1] === "traces") {
      return send(200, listTraces(url.searchParams.get("kind"), Number(url.searchParams.get("since") ?? 0)));
    }
    if (parts[1] === "faults") {
      if (req.method === "GET") return send(200, listFaults());
      if (req.method === "DELETE") return clearFaults(), send(200, {});
      try {
        armFault(await readJson(req));
        return send(201, listFaults());
      } catch (error) {
        return send(400, { error: error.message });
      }
    }
    // Evicts every Durable Object instance with nothing in flight, as hibernation does: the next
    // call or socket event constructs it again.
    if (parts[1] === "durable-objects" && parts[2] === "evict" && req.method === "POST") {
      let evicted = 0;
      for (const namespace of namespaces) evicted += await namespace.evictIdle();
      return send(200, { evicted });
    }
    // Sends a message through a queue producer binding, as the Worker would (e.g. to deliver a
    // job twice and watch the consumer stay idempotent).
    if (parts[1] === "queues" && parts[2] && req.method === "POST") {
      const producer = config.queueProducers.find((p) => p.binding === parts[2]);
      if (!producer) return send(404, { error: `no queue producer binding ${parts[2]}` });
      await env[producer.binding].send(await readJson(req));
      return send(202, { sent: true });
    }
    return send(404, { error: "unknown control route" });
  }

  const server = await step(`listen on http://${host}:${port}`, () => startServer({ port, host, handle, upgrade }));
  const address = server.address();
  log(`ready on http://${host}:${address.port} after ${sinceStart()} ms`);

  return {
    port: address.port,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections(); // idle keep-alive connections would otherwise hold close() open
      await closed;
      await Promise.allSettled([...pending]);
      meter.stop();
      for (const namespace of namespaces) namespace.close();
      for (const engine of workflows) engine.close();
      await mini.mf.dispose();
    },
  };
}

function mb(bytes) {
  return (bytes / 1e6).toFixed(1);
}

// What the per-request log line says an invocation used of its limits.
function usage(trace) {
  return `cpu ${Math.round(trace.cpuMs)} ms, memory ${mb(trace.memoryPeak)} MB, ${trace.subrequests} subrequests`;
}

// Cloudflare's page for error 1102 (support/troubleshooting/cloudflare-1xxx-errors/error-1102),
// which a client receives with status 503 when the Worker went over its CPU or memory limit.
function resourceLimitPage() {
  const html =
    "<!DOCTYPE html><html><head><title>Worker exceeded resource limits | Cloudflare</title></head><body>" +
    "<h1>Error 1102</h1><h2>Worker exceeded resource limits</h2></body></html>";
  const page = new Response(html, { status: 503, headers: { "content-type": "text/html; charset=UTF-8" } });
  LIMIT_PAGES.add(page);
  return page;
}
const LIMIT_PAGES = new WeakSet();

// formData() keeps the whole body in the isolate: workerd reads it, then copies each part into
// a File held in memory. Both count towards the invocation's memory while it parses, the parts
// afterwards.
function holdParsedBodies(request, hold) {
  const parse = request.formData.bind(request);
  Object.defineProperty(request, "formData", {
    value: async () => {
      const form = await parse();
      let parts = 0;
      for (const [, value] of form) parts += typeof value === "string" ? Buffer.byteLength(value) : value.size;
      const body = Number(request.headers.get("content-length") ?? parts);
      hold(body + parts, parts);
      return form;
    },
  });
}

// Fetches the Worker makes to the Internet are subrequests of the invocation making them.
function countExternalFetches() {
  const original = globalThis.fetch;
  if (original.countsSubrequests) return;
  const counted = (...args) => {
    try {
      chargeExternalFetch();
    } catch (error) {
      return Promise.reject(error);
    }
    return original(...args);
  };
  counted.countsSubrequests = true;
  globalThis.fetch = counted;
}

class ScheduledController {
  constructor(scheduledTime, cron) {
    this.scheduledTime = scheduledTime;
    this.cron = cron;
  }
  noRetry() {}
}

function checkEntrypoints(config, python) {
  if (!python.classNames("workerEntrypoints").includes("Default")) {
    throw new StartupError(`${config.main}: the main module must export a class Default(WorkerEntrypoint)`);
  }
  const exported = python.classNames("durableObjects");
  for (const d of config.durableObjects) {
    if (d.scriptName && d.scriptName !== config.name) {
      throw new StartupError(`Durable Object binding ${d.binding} uses script_name "${d.scriptName}"; the local runtime runs only this Worker's classes`);
    }
    if (!exported.includes(d.className)) {
      throw new StartupError(`Durable Object binding ${d.binding}: class ${d.className} is not exported by ${config.main}`);
    }
  }
  const workflowClasses = python.classNames("workflowEntrypoints");
  for (const w of config.workflows) {
    if (w.scriptName && w.scriptName !== config.name) {
      throw new StartupError(`Workflow binding ${w.binding} uses script_name "${w.scriptName}"; the local runtime runs only this Worker's classes`);
    }
    if (!workflowClasses.includes(w.className)) {
      throw new StartupError(`Workflow binding ${w.binding}: class ${w.className} is not a WorkflowEntrypoint exported by ${config.main}`);
    }
  }
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString() || "{}");
}

function withHeader(response, name, value) {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(name, value);
    return copy;
  }
}

function ms(started) {
  return Math.round(performance.now() - started);
}

// A scheduled time a Worker can turn into a date: whole milliseconds in years 1 to 9999 (what
// Python's datetime and JS's Date both hold), so a test asking for an absurd one gets a 400
// rather than an exception inside the Worker.
function validScheduledTime(text) {
  if (!/^-?\d{1,16}$/.test(text)) return false;
  const ms = Number(text);
  return ms >= -62_135_596_800_000 && ms <= 253_402_300_799_999;
}
