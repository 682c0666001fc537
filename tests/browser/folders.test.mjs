// Folders in the web app, and uploads that survive what happens to browsers: a reload in the
// middle of a 30 MB upload (the same file chosen again goes on from the server's offset), a
// storage fault during a 250 MB upload (Uppy retries from the offset by itself). Real Chromium,
// real Uppy (vendored from npm), the Worker on the local runtime.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { launchBrowser, startWorker } from "./harness.mjs";

const UI_TIMEOUT = 60_000;
const MiB = 1024 * 1024;

function randomFile(dir, name, size) {
  const file = path.join(dir, name);
  const out = fs.openSync(file, "w");
  const hash = crypto.createHash("sha256");
  for (let left = size; left > 0; ) {
    const block = crypto.randomBytes(Math.min(left, 4 * MiB));
    fs.writeSync(out, block);
    hash.update(block);
    left -= block.length;
  }
  fs.closeSync(out);
  return { file, sha256: hash.digest("hex") };
}

describe("folders and resumable uploads", () => {
  let worker;
  let browser;
  let context;
  let page;
  let key;
  let dir;
  const pageErrors = [];

  before(async () => {
    [worker, browser] = await Promise.all([startWorker({}), launchBrowser()]);
    key = await worker.mintKey("folder-user");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgefiles-folders-"));
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) pageErrors.push(message.text());
    });
    await page.goto(worker.url);
    await page.getByLabel("API key").fill(key);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Upload files" }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await worker?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const row = (name) => page.locator("#file-list tbody tr", { has: page.getByRole("link", { name, exact: true }) });
  const api = async (pathname, init) => (await worker.api(key, pathname, init)).json();
  const sha256Of = async (fileId) => {
    const body = Buffer.from(await (await worker.api(key, `/api/files/${fileId}/content`)).arrayBuffer());
    return crypto.createHash("sha256").update(body).digest("hex");
  };
  const fileNamed = async (name) => (await api("/api/files?limit=100")).items.find((item) => item.filename === name);

  test("a folder is created, opened, and what is uploaded there lands in it", async () => {
    await page.getByLabel("New folder").fill("reports");
    await page.getByRole("button", { name: "Create folder" }).click();
    await row("reports").getByRole("link").click();
    const crumbs = page.getByRole("navigation", { name: "Folder path" });
    await crumbs.getByRole("link", { name: "reports" }).waitFor();
    assert.equal(await crumbs.getByRole("link", { name: "reports" }).getAttribute("aria-current"), "page");
    await page.locator("#file-input").setInputFiles([{ name: "q3.txt", mimeType: "text/plain", buffer: Buffer.from("third quarter") }]);
    await row("q3.txt").waitFor();
    const folder = (await api("/api/folders/root/entries")).items.find((item) => item.name === "reports");
    assert.equal((await fileNamed("q3.txt")).folder_id, folder.id);
    await crumbs.getByRole("link", { name: "All files" }).click();
    await row("reports").waitFor();
    assert.equal(await row("q3.txt").count(), 0);
  });

  test("a file dragged onto a folder moves there; the Move menu does the same from the keyboard", async () => {
    await page.locator("#file-input").setInputFiles([
      { name: "dragged.txt", mimeType: "text/plain", buffer: Buffer.from("dragged") },
      { name: "chosen.txt", mimeType: "text/plain", buffer: Buffer.from("chosen") },
    ]);
    await row("dragged.txt").waitFor();
    await row("chosen.txt").waitFor();
    await row("dragged.txt").dragTo(row("reports"));
    await row("dragged.txt").waitFor({ state: "detached" });
    await row("chosen.txt").getByRole("combobox", { name: "Move chosen.txt to" }).selectOption({ label: "reports" });
    await row("chosen.txt").waitFor({ state: "detached" });
    const folder = (await api("/api/folders/root/entries")).items.find((item) => item.name === "reports");
    const inside = (await api(`/api/folders/${folder.id}/entries`)).items.map((item) => item.filename);
    assert.deepEqual(inside, ["chosen.txt", "dragged.txt", "q3.txt"]);
  });

  test("an upload cut off by a reload goes on from the server's offset when the file is chosen again", async () => {
    const { file, sha256 } = randomFile(dir, "video.bin", 30 * 1000 * 1000);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 8 * MiB });
    await page.locator("#file-input").setInputFiles(file);
    const upload = page.locator('li.upload[data-name="video.bin"][data-upload-url]');
    await upload.waitFor();
    const url = await upload.getAttribute("data-upload-url");
    const tus = { method: "HEAD", headers: { "tus-resumable": "1.0.0" } };
    let offset = 0;
    for (let i = 0; i < 300 && offset < 16 * MiB; i += 1) {
      offset = Number((await worker.api(key, url, tus)).headers.get("upload-offset"));
      if (offset < 16 * MiB) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(offset >= 16 * MiB, `the server had ${offset} bytes`);
    await page.reload();
    await cdp.detach();
    await page.getByRole("heading", { name: "Upload files" }).waitFor();
    const kept = Number((await worker.api(key, url, tus)).headers.get("upload-offset"));
    assert.ok(kept >= 16 * MiB && kept < 30 * 1000 * 1000, `kept ${kept}`);

    const patches = [];
    page.on("request", (request) => {
      if (request.method() === "PATCH") patches.push({ url: new URL(request.url()).pathname, offset: Number(request.headers()["upload-offset"]) });
    });
    await page.locator("#file-input").setInputFiles(file);
    await page.locator('li.upload[data-name="video.bin"][data-state="done"]').waitFor();
    assert.deepEqual(patches[0], { url, offset: kept }); // the same upload, from where it stopped
    const stored = await fileNamed("video.bin");
    assert.equal(stored.size_bytes, 30 * 1000 * 1000);
    assert.equal(await sha256Of(stored.id), sha256);
    const leftover = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("tus::")));
    assert.deepEqual(leftover, []); // a finished upload is forgotten
  });

  test("a 250 MB upload through Uppy survives a failed part write", async () => {
    const { file, sha256 } = randomFile(dir, "archive.bin", 250 * 1000 * 1000);
    await worker.fault("STORAGE.uploadPart", { skip: 7, count: 1 });
    const answers = [];
    const onResponse = (response) => {
      if (response.request().method() === "PATCH") answers.push(response.status());
    };
    page.on("response", onResponse);
    await page.locator("#file-input").setInputFiles(file);
    await page.locator('li.upload[data-name="archive.bin"][data-state="done"]').waitFor({ timeout: 300_000 });
    page.off("response", onResponse);
    assert.ok(answers.includes(503), `PATCH answers: ${answers.join(", ")}`); // the fault happened
    const stored = await fileNamed("archive.bin");
    assert.equal(stored.size_bytes, 250 * 1000 * 1000);
    assert.equal(await sha256Of(stored.id), sha256);
  });

  test("deleting a folder asks first, then its whole tree goes to the trash", async () => {
    await row("reports").getByRole("button", { name: "Delete folder reports" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Move to trash" }).click();
    await row("reports").waitFor({ state: "detached" });
    const trashed = await api("/api/trash/folders");
    assert.deepEqual(trashed.items.map((item) => item.name), ["reports"]);
    assert.equal(await fileNamed("q3.txt"), undefined);
  });

  test("no script errors or Content-Security-Policy violations on the way", () => {
    assert.deepEqual(pageErrors, []);
  });
});
