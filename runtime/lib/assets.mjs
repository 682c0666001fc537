// Workers static assets, served the way Cloudflare's asset router does (and wrangler dev
// emulates): a request that matches a file is answered without invoking the Worker, unless its
// path matches `run_worker_first`; everything else goes to the Worker. Files are read from disk on
// each request, so edits show without a restart, as with wrangler dev.
//
// Covered: GET/HEAD only (other methods go to the Worker), html_handling "auto-trailing-slash"
// (the default) and "none", not_found_handling "none" / "404-page" / "single-page-application",
// run_worker_first as a boolean or patterns with `*` and `!` exclusions, strong ETags with
// If-None-Match -> 304, and production's `cache-control: public, max-age=0, must-revalidate`.
// Not covered: the `_headers` and `_redirects` files (never served, not applied), the ASSETS
// binding (refused at start-up by config.mjs) and .assetsignore beyond "never serve it".
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

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
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(request.url).pathname);
    } catch {
      return null;
    }
    if (this.workerFirst(pathname)) return null;
    const match = await this.#resolve(pathname);
    if (match?.redirect) {
      const location = match.redirect + new URL(request.url).search;
      return new Response(null, { status: 307, headers: { location, "cache-control": CACHE_CONTROL } });
    }
    if (match) return this.#fileResponse(request, match.file, 200);
    return this.#notFound(request, pathname);
  }

  async #notFound(request, pathname) {
    if (this.notFoundHandling === "single-page-application") {
      // With a Worker present, only browser navigations get index.html; fetches reach the Worker.
      if (request.headers.get("sec-fetch-mode") !== "navigate") return null;
      const index = await this.#file("/index.html");
      return index ? this.#fileResponse(request, index, 200) : null;
    }
    if (this.notFoundHandling === "404-page") {
      for (let dir = path.posix.dirname(pathname); ; dir = path.posix.dirname(dir)) {
        const page = await this.#file(path.posix.join(dir, "404.html"));
        if (page) return this.#fileResponse(request, page, 404);
        if (dir === "/") break;
      }
    }
    return null;
  }

  // Maps a URL path to a file or a canonical-URL redirect, as html_handling says.
  async #resolve(pathname) {
    if (this.htmlHandling === "none") {
      const file = await this.#file(pathname);
      return file ? { file } : null;
    }
    if (pathname.endsWith("/index.html") && (await this.#file(pathname))) {
      return { redirect: pathname.slice(0, -"index.html".length) };
    }
    if (pathname.endsWith(".html") && (await this.#file(pathname))) return { redirect: pathname.slice(0, -5) };
    if (pathname.endsWith("/")) {
      const index = await this.#file(`${pathname}index.html`);
      if (index) return { file: index };
      if (pathname !== "/" && (await this.#file(`${pathname.slice(0, -1)}.html`))) return { redirect: pathname.slice(0, -1) };
      return null;
    }
    const exact = await this.#file(pathname);
    if (exact) return { file: exact };
    const html = await this.#file(`${pathname}.html`);
    if (html) return { file: html };
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
