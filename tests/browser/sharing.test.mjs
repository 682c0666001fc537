// Sharing in a real browser against the Worker on the local runtime: a password-protected share
// link and a file request made in the app, then used from a second browser context that has no
// key; revoking and closing them; the trash (delete forever, empty in batches); the quota in the
// stats panel and an upload over it; the Activity list. The steps build on each other.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ARTIFACTS, launchBrowser, startWorker } from "./harness.mjs";

const UI_TIMEOUT = 30_000;
const LINK_PASSWORD = "blue-harbour-42";
const REQUEST_PASSWORD = "send-me-receipts";
const REPORT = "Annual report, page 1: the numbers everyone asked for.\n";
const RECEIPT = "Receipt #1042: 3 coffees, 1 croissant.\n";
// More than the API empties in one call (40), so "Empty trash" must ask again.
const TRASH_FILL = 42;

describe("sharing, file requests, trash and quota", () => {
  let worker;
  let browser;
  let owner; // the signed-in user's context
  let page;
  let stranger; // another browser, no key
  let outside;
  let key;
  let linkUrl;
  let requestUrl;
  let reportId;
  const pageErrors = [];
  const strangerAuthorization = [];
  const report = { name: "report.txt", mimeType: "text/plain", buffer: Buffer.from(REPORT) };
  const receipt = { name: "receipt.txt", mimeType: "text/plain", buffer: Buffer.from(RECEIPT) };
  const picture = { name: "picture.gif", mimeType: "image/gif", buffer: Buffer.from("GIF89a not really") };

  function watch(target, who) {
    target.on("pageerror", (error) => pageErrors.push(`${who}: ${error.message}`));
    target.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) pageErrors.push(`${who}: ${message.text()}`);
    });
  }

  before(async () => {
    [worker, browser] = await Promise.all([startWorker({}, { log: "browser-runtime-sharing.log" }), launchBrowser()]);
    key = await worker.mintKey("sharing-user");
    owner = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await owner.grantPermissions(["clipboard-read", "clipboard-write"], { origin: worker.url });
    page = await owner.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    watch(page, "owner");
    stranger = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    stranger.on("request", (request) => {
      if (request.headers().authorization) strangerAuthorization.push(request.url());
    });
    outside = await stranger.newPage();
    outside.setDefaultTimeout(UI_TIMEOUT);
    watch(outside, "stranger");
  });

  after(async () => {
    await browser?.close();
    await worker?.stop();
  });

  const nav = () => page.getByRole("navigation", { name: "Main" });
  const fileRow = (name) => page.locator("#file-list tbody tr", { has: page.getByRole("link", { name, exact: true }) });
  const linkItem = (text) => page.locator("#file-links li", { hasText: text });
  const requestItem = (text) => page.locator("#request-list li.record", { hasText: text });

  async function unnamedControls(target) {
    return target.evaluate(() =>
      [...document.querySelectorAll("input, select, button, a[href], meter, summary")]
        .filter((el) => el.offsetParent !== null || el.type === "file")
        .filter((el) => !(el.labels?.length || el.getAttribute("aria-label") || el.textContent.trim()))
        .map((el) => el.outerHTML),
    );
  }

  test("sign in and upload a file", async () => {
    await page.goto(worker.url);
    await page.getByLabel("API key").fill(key);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Upload files" }).waitFor();
    for (const name of ["Files", "File requests", "Trash", "Activity"]) assert.equal(await nav().getByRole("link", { name, exact: true }).isVisible(), true);
    await page.locator("#file-input").setInputFiles([report]);
    await page.locator(`li.upload[data-name="${report.name}"][data-state="done"]`).waitFor();
    await fileRow(report.name).waitFor();
  });

  test("the stats panel shows usage against the quota", async () => {
    const { quota } = await (await worker.api(key, "/api/stats")).json();
    assert.equal(quota.used_bytes, report.buffer.length);
    await page.locator("#quota-bytes-text", { hasText: `${report.buffer.length} B of 10 GB used` }).waitFor();
    await page.locator("#quota-files-text", { hasText: "1 of 100,000 files" }).waitFor();
    assert.equal(Number(await page.locator("meter#quota-bytes").getAttribute("max")), quota.quota_bytes);
    assert.equal(Number(await page.locator("meter#quota-bytes").getAttribute("value")), report.buffer.length);
  });

  test("a share link with a password, a download limit and a label is created, copied and listed", async () => {
    await fileRow(report.name).getByRole("link").click();
    await page.getByRole("heading", { name: report.name, level: 1 }).waitFor();
    reportId = decodeURIComponent(page.url().split("#/files/")[1]);
    await page.locator("#file-links li.empty", { hasText: "No share links yet." }).waitFor();
    await page.getByLabel("Link expires in").selectOption({ label: "1 day" });
    await page.getByLabel("Password (optional)").fill(LINK_PASSWORD);
    await page.getByLabel("Download limit (optional)").fill("1");
    await page.getByLabel("Label (optional)").fill("For the auditor");
    await page.getByRole("button", { name: "Create and copy link" }).click();
    linkUrl = await page.getByLabel("Signed link").inputValue();
    assert.match(linkUrl, new RegExp(`^${worker.url}/d/`));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), linkUrl);
    const item = linkItem("For the auditor");
    await item.waitFor();
    assert.equal(await item.locator('.badge[data-status="active"]').count(), 1);
    assert.match(await item.textContent(), /0 of 1 downloads/);
    assert.match(await item.textContent(), /password/);
    assert.equal(await item.getByRole("textbox", { name: "URL of For the auditor" }).inputValue(), linkUrl);
    // The secret does not stay on screen, and reached the API as asked.
    assert.equal(await page.getByLabel("Password (optional)").inputValue(), "");
    const { items } = await (await worker.api(key, "/api/links")).json();
    const [link] = items.filter((l) => l.label === "For the auditor");
    assert.equal(link.password_protected, true);
    assert.equal(link.max_downloads, 1);
    const lifetime = Date.parse(link.expires_at) - Date.parse(link.created_at);
    assert.ok(Math.abs(lifetime - 86_400_000) < 60_000, `the link lives ${lifetime} ms`);
    assert.deepEqual(await unnamedControls(page), []);
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-share.png"), fullPage: true });
  });

  test("a file request with a password, a file limit and chosen types is created and listed", async () => {
    await nav().getByRole("link", { name: "File requests" }).click();
    await page.getByRole("heading", { name: "File requests", level: 1 }).waitFor();
    await page.getByLabel("Label (optional)").fill("Receipts");
    await page.getByLabel("Password (optional)").fill(REQUEST_PASSWORD);
    await page.getByLabel("Most files (optional)").fill("5");
    await page.getByLabel("Largest file in MB (optional)").fill("1");
    const types = page.getByRole("group", { name: "Accepted types" }).getByRole("checkbox");
    for (const box of await types.all()) await box.setChecked(["text/plain", "application/pdf"].includes(await box.getAttribute("value")));
    await page.getByRole("button", { name: "Create file request" }).click();
    requestUrl = await page.getByLabel("File request link").inputValue();
    assert.match(requestUrl, new RegExp(`^${worker.url}/r/`));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), requestUrl);
    const item = requestItem("Receipts");
    await item.waitFor();
    assert.match(await item.textContent(), /0 of 5 files received/);
    assert.match(await item.textContent(), /application\/pdf, text\/plain/);
    assert.match(await item.textContent(), /1\.0 MB each/);
    const { items } = await (await worker.api(key, "/api/file-requests")).json();
    assert.equal(items[0].password_protected, true);
    assert.equal(items[0].max_files, 5);
    assert.equal(items[0].max_file_size, 1_000_000);
    assert.deepEqual(items[0].allowed_types, ["application/pdf", "text/plain"]);
    assert.deepEqual(await unnamedControls(page), []);
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-requests.png"), fullPage: true });
  });

  test("without a key, the link asks for the password, refuses a wrong one, then downloads the file", async () => {
    await outside.goto(linkUrl);
    await outside.getByRole("heading", { name: "This file is protected" }).waitFor();
    await outside.getByLabel("Password").fill("not the password");
    await outside.getByRole("button", { name: "Download" }).click();
    await outside.getByRole("alert").getByText("not right").waitFor();
    await outside.getByLabel("Password").fill(LINK_PASSWORD);
    const [download] = await Promise.all([outside.waitForEvent("download"), outside.getByRole("button", { name: "Download" }).click()]);
    assert.equal(download.suggestedFilename(), report.name);
    assert.deepEqual(fs.readFileSync(await download.path()), report.buffer);
  });

  test("the owner sees the download counted and the link used up", async () => {
    await page.goto(`${worker.url}/#/files/${encodeURIComponent(reportId)}`);
    await page.getByRole("heading", { name: report.name, level: 1 }).waitFor();
    const item = linkItem("For the auditor");
    await item.locator('.badge[data-status="exhausted"]').waitFor();
    assert.match(await item.textContent(), /1 of 1 downloads/);
    assert.equal(await item.getByRole("button", { name: "Revoke For the auditor" }).count(), 0);
  });

  test("without a key, files are sent through the request: a wrong password is refused, a wrong type too", async () => {
    await outside.goto(requestUrl);
    await outside.getByRole("heading", { name: "Receipts" }).waitFor();
    const sent = outside.locator("#sent li");
    await outside.getByLabel("Password").fill("wrong password");
    await outside.locator("#files").setInputFiles([receipt]);
    await outside.getByRole("button", { name: "Send" }).click();
    await sent.filter({ hasText: `${receipt.name} — Unauthorized: The password is not right` }).waitFor();
    const puts = [];
    const onRequest = (request) => {
      if (request.method() === "PUT") puts.push({ url: request.url(), headers: request.headers() });
    };
    outside.on("request", onRequest);
    await outside.getByLabel("Password").fill(REQUEST_PASSWORD);
    await outside.locator("#files").setInputFiles([receipt, picture]);
    await outside.getByRole("button", { name: "Send" }).click();
    await sent.filter({ hasText: `${receipt.name} — sent` }).waitFor();
    const refused = sent.filter({ hasText: picture.name });
    await refused.filter({ hasText: /: / }).waitFor();
    assert.doesNotMatch(await refused.textContent(), /— sent$/);
    outside.off("request", onRequest);
    assert.deepEqual(puts.map((p) => p.url), [`${requestUrl}/files/${receipt.name}`, `${requestUrl}/files/${picture.name}`]);
    assert.equal(puts[0].headers["x-request-password"], REQUEST_PASSWORD);
    assert.equal(puts[0].headers["content-type"], "text/plain");
    assert.deepEqual(await unnamedControls(outside), []);
    await outside.screenshot({ path: path.join(ARTIFACTS, "web-app-file-request.png"), fullPage: true });
  });

  test("the stranger's browser never sent a key", () => {
    assert.deepEqual(strangerAuthorization, []);
  });

  test("the owner finds the received file in the list and under the request", async () => {
    await nav().getByRole("link", { name: "Files", exact: true }).click();
    await fileRow(receipt.name).waitFor();
    await nav().getByRole("link", { name: "File requests" }).click();
    const item = requestItem("Receipts");
    await item.getByText("1 of 5 files received").waitFor();
    await item.getByText("Files received", { exact: true }).click();
    await item.getByRole("link", { name: receipt.name }).click();
    await page.getByRole("heading", { name: receipt.name, level: 1 }).waitFor();
    await page.getByRole("link", { name: "through a file request" }).waitFor();
    const id = decodeURIComponent(page.url().split("#/files/")[1]);
    const content = Buffer.from(await (await worker.api(key, `/api/files/${id}/content`)).arrayBuffer());
    assert.deepEqual(content, receipt.buffer);
  });

  test("the Download button saves the file; a revoked link stops working at once", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download", exact: true }).click()]);
    assert.equal(download.suggestedFilename(), receipt.name);
    assert.deepEqual(fs.readFileSync(await download.path()), receipt.buffer);

    await page.getByLabel("Label (optional)").fill("Temporary");
    await page.getByRole("button", { name: "Create and copy link" }).click();
    const item = linkItem("Temporary");
    await item.waitFor();
    const url = await item.getByRole("textbox").inputValue();
    assert.equal((await fetch(url)).status, 200);
    await item.getByRole("button", { name: "Revoke Temporary" }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke this link?" });
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    assert.equal(await item.locator('.badge[data-status="active"]').count(), 1);
    await item.getByRole("button", { name: "Revoke Temporary" }).click();
    await dialog.getByRole("button", { name: "Revoke" }).click();
    // The API lists only links that were not revoked.
    await item.waitFor({ state: "detached" });
    assert.equal((await fetch(url)).status, 410);
  });

  test("closing a file request stops it at once", async () => {
    await nav().getByRole("link", { name: "File requests" }).click();
    const item = requestItem("Receipts");
    await item.getByRole("button", { name: "Close Receipts" }).click();
    await page.getByRole("dialog", { name: "Close this file request?" }).getByRole("button", { name: "Close request" }).click();
    await item.waitFor({ state: "detached" }); // closed requests are not listed
    await page.locator("#request-list li.empty", { hasText: "No file requests yet." }).waitFor();
    await outside.locator("#files").setInputFiles([{ ...receipt, name: "late.txt" }]);
    await outside.getByRole("button", { name: "Send" }).click();
    await outside.locator("#sent li", { hasText: /^late\.txt — Gone: / }).waitFor();
  });

  test("the trash: delete forever after confirming, and empty it in batches", async () => {
    const names = [];
    for (let i = 1; i <= TRASH_FILL; i += 1) {
      const name = `old-${String(i).padStart(2, "0")}.bin`;
      const put = await worker.api(key, `/api/files/${name}`, { method: "PUT", body: `old file ${i}`, headers: { "content-type": "application/octet-stream" } });
      assert.equal(put.status, 201);
      const { id } = await put.json();
      assert.equal((await worker.api(key, `/api/files/${id}`, { method: "DELETE" })).status, 204);
      names.push(name);
    }
    await nav().getByRole("link", { name: "Trash" }).click();
    const rows = page.locator("#trash-list tbody tr");
    await rows.nth(TRASH_FILL - 1).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-trash.png") });
    const first = page.locator("#trash-list tbody tr", { hasText: names[0] });
    await first.getByRole("button", { name: `Delete ${names[0]} forever` }).click();
    const dialog = page.getByRole("dialog", { name: "Delete this file forever?" });
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    assert.equal(await first.count(), 1);
    await first.getByRole("button", { name: `Delete ${names[0]} forever` }).click();
    await dialog.getByRole("button", { name: "Delete forever" }).click();
    await first.waitFor({ state: "detached" });
    let trash = await (await worker.api(key, "/api/trash?limit=100")).json();
    assert.equal(trash.items.length, TRASH_FILL - 1);
    assert.ok(!trash.items.some((item) => item.filename === names[0]));

    const empties = [];
    const onRequest = (request) => {
      if (request.method() === "DELETE" && new URL(request.url()).pathname === "/api/trash") empties.push(request.url());
    };
    page.on("request", onRequest);
    await page.getByRole("button", { name: "Empty trash" }).click();
    await page.getByRole("dialog", { name: "Empty the trash?" }).getByRole("button", { name: "Empty trash" }).click();
    await page.getByText("The trash is empty.").waitFor();
    page.off("request", onRequest);
    assert.equal(empties.length, 2);
    trash = await (await worker.api(key, "/api/trash")).json();
    assert.deepEqual(trash.items, []);
    assert.deepEqual(await unnamedControls(page), []);
  });

  test("an upload over the quota says so with the API's title and detail", async () => {
    const before = (await (await worker.api(key, "/api/stats")).json()).quota;
    const set = await worker.admin("/api/admin/users/sharing-user/quota", { method: "PUT", body: JSON.stringify({ max_bytes: before.used_bytes + 100 }) });
    assert.equal(set.status, 200);
    try {
      await nav().getByRole("link", { name: "Files", exact: true }).click();
      await page.locator("#quota-bytes-text", { hasText: `of ${before.used_bytes + 100} B used` }).waitFor();
      const big = { name: "too-big.txt", mimeType: "text/plain", buffer: Buffer.alloc(500, "x") };
      await page.locator("#file-input").setInputFiles([big]);
      const row = page.locator(`li.upload[data-name="${big.name}"][data-state="failed"]`);
      await row.waitFor();
      assert.match(await row.locator(".state").textContent(), /^Quota exceeded: \S/);
    } finally {
      await worker.admin("/api/admin/users/sharing-user/quota", { method: "PUT", body: JSON.stringify({}) });
    }
  });

  test("the Activity list shows what happened", async () => {
    await nav().getByRole("link", { name: "Activity" }).click();
    const list = page.locator("#activity-list");
    for (const what of ["Share link created", "Share link revoked", "Wrong password for a share link", "File received through a request", "File request closed", "Quota changed"]) {
      await list.getByRole("cell", { name: what, exact: true }).first().waitFor();
    }
    assert.deepEqual(await unnamedControls(page), []);
  });

  test("usable at phone width: the new views do not overflow sideways", async () => {
    const created = await worker.api(key, "/api/file-requests", {
      method: "POST",
      body: JSON.stringify({ label: "Scans of the signed contracts, every page, for the notary in Lyon", password: REQUEST_PASSWORD }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(created.status, 201);
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const small = await phone.newPage();
    await small.goto(worker.url);
    await small.getByLabel("API key").fill(key);
    await small.getByRole("button", { name: "Sign in" }).click();
    await small.getByRole("heading", { name: "Upload files" }).waitFor({ timeout: UI_TIMEOUT });
    for (const [hash, ready] of [
      ["#/requests", "#request-list li.record"],
      ["#/trash", "text=The trash is empty."],
      ["#/activity", "#activity-list tbody tr"],
    ]) {
      await small.goto(`${worker.url}/${hash}`);
      await small.locator(ready).first().waitFor({ timeout: UI_TIMEOUT });
      const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than the screen`);
    }
    await small.screenshot({ path: path.join(ARTIFACTS, "web-app-phone-requests.png"), fullPage: true });
    await phone.close();
  });

  test("no script errors or Content-Security-Policy violations on the way", () => {
    assert.deepEqual(pageErrors, []);
  });
});
