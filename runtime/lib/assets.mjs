// Workers static assets, served the way Cloudflare's asset router does (and wrangler dev
// emulates): a request that matches a file is answered without invoking the Worker, unless its
// path matches `run_worker_first`; everything else goes to the Worker. Files are read from disk on
// each request, so edits show without a restart, as with wrangler dev.
//
// Covered: paths decoded per segment with canonical re-encoding (307 otherwise), 405 for a method
// other than GET/HEAD on an asset's path (other paths go to the Worker), html_handling "auto-trailing-slash"
// (the default) and "none", not_found_handling "none" / "404-page" / "single-page-application",
// run_worker_first as a boolean or patterns with `*` and `!` exclusions, strong ETags with
// If-None-Match -> 304, and production's `cache-control: public, max-age=0, must-revalidate`.
// `_headers` is applied to every response the asset router gives (asset-headers.mjs). Not
// covered: `_redirects` (never served, not applied), the ASSETS binding (refused at start-up by
// config.mjs) and .assetsignore beyond "never serve it".
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { applyHeaderRules, parseHeadersFile } from "./asset-headers.mjs";
import { logError } from "./log.mjs";

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".webmanifest": "application/manifest+json",
};
const NEVER_SERVED = new Set([".assetsignore", "_headers", "_redirects", "_worker.js"]);
const CACHE_CONTROL = "public, max-age=0, must-revalidate";

// Each segment decoded on its own (a malformed escape stays as it is), then runs of slashes
// collapsed, so "//host" can never become a protocol-relative redirect.
function decodePath(pathname) {
  const decode = (segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  };
  return pathname.split("/").map(decode).join("/").replace(/\/+/g, "/");
}

function encodePath(pathname) {
  return pathname.split("/").map(encodeURIComponent).join("/");
}

// A run_worker_first pattern: `*` matches any run of characters, `/` included.
function patternToRegExp(pattern) {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*");
  return new RegExp(`^${escaped}$`);
}

export class AssetServer {
  constructor({ directory, runWorkerFirst = false, htmlHandling = "auto-trailing-slash", notFoundHandling = "none" }) {
    this.directory = path.resolve(directory);
    this.htmlHandling = htmlHandling;
    this.notFoundHandling = notFoundHandling;
    if (typeof runWorkerFirst === "boolean") {
      this.workerFirst = () => runWorkerFirst;
    } else {
      const include = runWorkerFirst.filter((p) => !p.startsWith("!")).map(patternToRegExp);
      const exclude = runWorkerFirst.filter((p) => p.startsWith("!")).map((p) => patternToRegExp(p.slice(1)));
      this.workerFirst = (pathname) => !exclude.some((re) => re.test(pathname)) && include.some((re) => re.test(pathname));
    }
  }

  // The asset's Response, or null when the request belongs to the Worker.
  async respond(request) {
    const response = await this.#route(request);
    return response && applyHeaderRules(await this.#headerRules(), new URL(request.url), response);
  }

  // What the [assets] binding's fetch() answers: the same routing without run_worker_first (the
  // Worker is already running), and a 404 where the router would have handed over to the Worker.
  async fetchFromBinding(request) {
    const response = (await this.#route(request, { binding: true })) ?? new Response(null, { status: 404 });
    return applyHeaderRules(await this.#headerRules(), new URL(request.url), response);
  }

  // The rules of `_headers`, re-read when the file changes; a broken file is reported once and
  // applies nothing, as wrangler skips what it cannot parse.
  async #headerRules() {
    const file = path.join(this.directory, "_headers");
    let stat;
    try {
      stat = await fs.stat(file);
    } catch {
      return [];
    }
    if (this.headersCache?.mtimeMs !== stat.mtimeMs) {
      let rules = [];
      try {
        rules = parseHeadersFile(await fs.readFile(file, "utf8"));
      } catch (error) {
        logError(`${file}: ${error.message}; no custom headers applied`);
      }
      this.headersCache = { mtimeMs: stat.mtimeMs, rules };
    }
    return this.headersCache.rules;
  }

  async #route(request, { binding = false } = {}) {
    const url = new URL(request.url);
    // run_worker_first patterns see the path as sent, before any decoding.
    if (!binding && this.workerFirst(url.pathname)) return null;
    const pathname = decodePath(url.pathname);
    if (pathname.split("/").some((segment) => segment === "." || segment === "..")) return null;
    const match = (await this.#resolve(pathname)) ?? (await this.#notFound(request, pathname, binding));
    if (!match) return null;
    // A path that names an asset is the asset router's, whatever the method: it answers 405.
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    // The canonical URL is the decoded path re-encoded segment by segment; anything else redirects.
    const canonical = encodePath(match.redirect ?? pathname);
    if (match.redirect || canonical !== url.pathname) {
      return new Response(null, { status: 307, headers: { location: canonical + url.search, "cache-control": CACHE_CONTROL } });
    }
    return this.#fileResponse(request, match.file, match.status);
  }

  async #notFound(request, pathname, binding) {
    if (this.notFoundHandling === "single-page-application") {
      // With a Worker present, only browser navigations get index.html from the router; fetches
      // reach the Worker. Through the binding every miss gets it (miniflare's asset worker).
      if (!binding && request.headers.get("sec-fetch-mode") !== "navigate") return null;
      const index = await this.#file("/index.html");
      return index ? { file: index, status: 200 } : null;
    }
    if (this.notFoundHandling === "404-page") {
      for (let dir = path.posix.dirname(pathname); ; dir = path.posix.dirname(dir)) {
        const page = await this.#file(path.posix.join(dir, "404.html"));
        if (page) return { file: page, status: 404 };
        if (dir === "/") break;
      }
    }
    return null;
  }

  // Maps a URL path to a file or a canonical-URL redirect, as html_handling says.
  async #resolve(pathname) {
    const found = async (urlPath) => {
      const file = await this.#file(urlPath);
      return file ? { file, status: 200 } : null;
    };
    if (this.htmlHandling === "none") return found(pathname);
    if (pathname.endsWith("/index.html") && (await this.#file(pathname))) {
      return { redirect: pathname.slice(0, -"index.html".length) };
    }
    if (pathname.endsWith(".html") && (await this.#file(pathname))) return { redirect: pathname.slice(0, -5) };
    if (pathname.endsWith("/")) {
      const index = await found(`${pathname}index.html`);
      if (index) return index;
      if (pathname !== "/" && (await this.#file(`${pathname.slice(0, -1)}.html`))) return { redirect: pathname.slice(0, -1) };
      return null;
    }
    const exact = (await found(pathname)) ?? (await found(`${pathname}.html`));
    if (exact) return exact;
    if (await this.#file(`${pathname}/index.html`)) return { redirect: `${pathname}/` };
    return null;
  }

  // The absolute path of a regular file inside the directory, or null.
  async #file(urlPath) {
    const absolute = path.join(this.directory, path.posix.normalize(urlPath));
    if (!absolute.startsWith(this.directory + path.sep)) return null;
    if (NEVER_SERVED.has(path.basename(absolute))) return null;
    try {
      return (await fs.stat(absolute)).isFile() ? absolute : null;
    } catch {
      return null;
    }
  }

  async #fileResponse(request, file, status) {
    const body = await fs.readFile(file);
    const etag = `"${crypto.createHash("sha256").update(body).digest("hex").slice(0, 32)}"`;
    const headers = {
      "content-type": CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream",
      etag,
      "cache-control": CACHE_CONTROL,
    };
    const ifNoneMatch = request.headers.get("if-none-match");
    if (status === 200 && ifNoneMatch?.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag)) {
      return new Response(null, { status: 304, headers });
    }
    headers["content-length"] = String(body.byteLength);
    return new Response(request.method === "HEAD" ? null : body, { status, headers });
  }
}
