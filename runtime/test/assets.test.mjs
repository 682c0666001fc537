import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { AssetServer } from "../lib/assets.mjs";

function site(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "assets-"));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const get = (server, pathname, init = {}) => server.respond(new Request(`http://local${pathname}`, init));

const dir = site({
  "index.html": "<h1>home</h1>",
  "app.js": "export {};",
  "about.html": "about",
  "docs/index.html": "docs",
  "_headers": "/*\n  x-secret: 1",
  "api/readme.txt": "shadowed",
  "my notes.txt": "spaced",
  "[x].txt": "bracketed",
});

test("a file is served with its type, a strong ETag and production's cache-control", async () => {
  const server = new AssetServer({ directory: dir });
  const response = await get(server, "/app.js");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(response.headers.get("cache-control"), "public, max-age=0, must-revalidate");
  assert.match(response.headers.get("etag"), /^"[0-9a-f]{32}"$/);
  assert.equal(await response.text(), "export {};");
  const again = await get(server, "/app.js", { headers: { "if-none-match": response.headers.get("etag") } });
  assert.equal(again.status, 304);
});

test("auto-trailing-slash: / is index.html, /about is about.html, .html URLs redirect", async () => {
  const server = new AssetServer({ directory: dir });
  assert.equal(await (await get(server, "/")).text(), "<h1>home</h1>");
  assert.equal(await (await get(server, "/about")).text(), "about");
  assert.equal((await get(server, "/about.html")).headers.get("location"), "/about");
  assert.equal((await get(server, "/index.html")).headers.get("location"), "/");
  assert.equal((await get(server, "/docs")).headers.get("location"), "/docs/");
  assert.equal(await (await get(server, "/docs/")).text(), "docs");
});

test("misses, other methods, run_worker_first paths and config files go to the Worker", async () => {
  const server = new AssetServer({ directory: dir, runWorkerFirst: ["/api/*", "!/api/public/*"] });
  assert.equal(await get(server, "/health"), null);
  assert.equal(await get(server, "/nothing-here", { method: "POST", body: "x" }), null);
  assert.equal(await get(server, "/api/readme.txt"), null);
  assert.equal(await get(server, "/_headers"), null);
  for (const escape of ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2F..%2Fetc%2Fpasswd", "/x/..%2Fapp.js"]) {
    assert.equal(await get(server, escape), null, escape);
  }
  assert.equal((await get(new AssetServer({ directory: dir }), "/api/readme.txt")).status, 200);
});

test("single-page-application: navigations get index.html, fetches still reach the Worker", async () => {
  const server = new AssetServer({ directory: dir, notFoundHandling: "single-page-application" });
  const page = await get(server, "/files/123", { headers: { "sec-fetch-mode": "navigate" } });
  assert.equal(await page.text(), "<h1>home</h1>");
  assert.equal(await get(server, "/files/123", { headers: { "sec-fetch-mode": "cors" } }), null);
});

test("HEAD has the headers and no body", async () => {
  const response = await get(new AssetServer({ directory: dir }), "/about", { method: "HEAD" });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-length"), "5");
  assert.equal(response.body, null);
});

test("a method other than GET or HEAD on an asset's path is the asset router's 405", async () => {
  const response = await get(new AssetServer({ directory: dir }), "/app.js", { method: "POST", body: "x" });
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "GET, HEAD");
});

test("paths are decoded per segment and redirected to their canonical encoding, never off-site", async () => {
  const server = new AssetServer({ directory: dir });
  assert.equal(await (await get(server, "/my%20notes.txt")).text(), "spaced");
  assert.equal((await get(server, "/[x].txt")).headers.get("location"), "/%5Bx%5D.txt");
  assert.equal(await (await get(server, "/%5Bx%5D.txt")).text(), "bracketed");
  const doubled = await get(server, "//about?q=1");
  assert.equal(doubled.status, 307);
  assert.equal(doubled.headers.get("location"), "/about?q=1");
  assert.equal(await get(server, "/%2Fevil.example/..%2Findex.html"), null);
  const slashy = await get(server, "/%2F%2Fevil.example%2Fabout");
  assert.ok(!slashy?.headers.get("location")?.startsWith("//"), "no protocol-relative redirect");
});

test("_headers applies to the router's answers, never served itself", async () => {
  const server = new AssetServer({ directory: dir, runWorkerFirst: ["/api/*"] });
  assert.equal((await get(server, "/app.js")).headers.get("x-secret"), "1");
  assert.equal((await get(server, "/about.html")).headers.get("x-secret"), "1"); // the 307 too
  assert.equal(await get(server, "/_headers"), null);
  assert.equal(await get(server, "/api/readme.txt"), null); // the Worker's answers are its own
});
