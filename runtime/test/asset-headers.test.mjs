import assert from "node:assert/strict";
import { test } from "node:test";
import { applyHeaderRules, HeadersFileError, parseHeadersFile } from "../lib/asset-headers.mjs";

const RULES = parseHeadersFile(`
# comments and blank lines are skipped
/*
  X-Frame-Options: DENY
  Link: </app.css>; rel=preload

/docs/:page
  X-Page: :page
  ! X-Frame-Options

/files/*
  X-Rest: :splat
  Link: </files.css>; rel=preload

https://:sub.example.com/*
  X-Sub: :sub
`);

const headersFor = (url) => applyHeaderRules(RULES, new URL(url), new Response("x", { headers: { "content-type": "text/plain" } })).headers;

test("every matching rule attaches its headers; the same header from two rules is joined", () => {
  const headers = headersFor("http://local/files/a/b.txt");
  assert.equal(headers.get("x-frame-options"), "DENY");
  assert.equal(headers.get("x-rest"), "a/b.txt");
  assert.equal(headers.get("link"), "</app.css>; rel=preload, </files.css>; rel=preload");
  assert.equal(headers.get("content-type"), "text/plain");
});

test("placeholders match one segment and fill values; ! detaches", () => {
  const headers = headersFor("http://local/docs/intro");
  assert.equal(headers.get("x-page"), "intro");
  assert.equal(headers.get("x-frame-options"), null);
  assert.equal(headersFor("http://local/docs/a/b").get("x-page"), null);
});

test("absolute-URL patterns match on host and path", () => {
  assert.equal(headersFor("https://eu.example.com/x").get("x-sub"), "eu");
  assert.equal(headersFor("https://example.org/x").get("x-sub"), null);
});

test("a file that cannot be read as rules is an error naming the line", () => {
  assert.throws(() => parseHeadersFile("  X-Orphan: 1\n"), HeadersFileError);
  assert.throws(() => parseHeadersFile("/*\n  no colon here\n"), /line 2/);
});
