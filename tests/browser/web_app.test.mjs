// The web app in a real browser (Debian's Chromium, headless, driven by playwright-core) against
// the Worker on the local runtime: Python in Pyodide, bindings in miniflare, nothing mocked.
// The steps build on each other (sign in, upload, look, share, search, delete), so they run in order.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { after, before, describe, test } from "node:test";
import { ARTIFACTS, launchBrowser, startWorker } from "./harness.mjs";

// Every upload goes over tus (Uppy's Tus plugin); a 9 MiB file is two R2 parts (8 MiB + 1 MiB).
const MAX_FILE_SIZE = 8 * 1024 * 1024;
const PART = 8 * 1024 * 1024;
const NOTES = "The quarterly report: revenue grew in Europe, and edge caching kept hot metadata close to users.\n";
const BIG_SIZE = 9 * 1024 * 1024;
const UI_TIMEOUT = 30_000;

// A real 64x64 PNG (a red square), so the preview has something to decode.
function png(size = 64) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(size * 3, Buffer.from([220, 38, 38]))]);
  const pixels = zlib.deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header), chunk("IDAT", pixels), chunk("IEND", Buffer.alloc(0))]);
}

const sha256 = (buffer) => crypto.createHash("sha256").update(buffer).digest("hex");

describe("web app", () => {
  let worker;
  let browser;
  let context;
  let page;
  let key;
  // Script errors and CSP violations; failed API calls (the wrong key's 401) are expected noise.
  const pageErrors = [];
  const files = {
    notes: { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from(NOTES) },
    image: { name: "red-square.png", mimeType: "image/png", buffer: png() },
    big: { name: "big.bin", mimeType: "application/octet-stream", buffer: crypto.randomBytes(BIG_SIZE) },
  };

  before(async () => {
    [worker, browser] = await Promise.all([startWorker({ MAX_FILE_SIZE, RETRY_BASE_SECONDS: 1 }), launchBrowser()]);
    key = await worker.mintKey("browser-user");
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: worker.url });
    page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT);
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) pageErrors.push(message.text());
    });
  });

  after(async () => {
    await browser?.close();
    await worker?.stop();
  });

  // Chromium's own network throttling on the page; detach the returned session to lift it.
  async function throttleUploads(bytesPerSecond) {
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond });
    return cdp;
  }

  const uploadRow = (name) => page.locator(`li.upload[data-name="${name}"]`);
  const fileRow = (name) => page.locator("#file-list tbody tr", { has: page.getByRole("link", { name, exact: true }) });

  test("the app is served as static assets; the API still reaches the Worker", async () => {
    const index = await fetch(`${worker.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get("content-type"), /^text\/html/);
    assert.ok(index.headers.get("etag"));
    const api = await fetch(`${worker.url}/api/files`);
    assert.equal(api.status, 401);
    assert.equal(api.headers.get("content-type"), "application/problem+json");
  });

  test("a wrong key is refused with the API's problem title and detail", async () => {
    const problem = await (await worker.api("ef_wrong_key", "/api/limits")).json();
    await page.goto(worker.url);
    await page.getByLabel("API key").fill("ef_wrong_key");
    await page.getByRole("button", { name: "Sign in" }).click();
    const banner = page.getByRole("alert");
    await banner.getByText(problem.title).waitFor();
    assert.ok((await banner.textContent()).includes(problem.detail));
    assert.equal(await page.evaluate(() => sessionStorage.getItem("edgefiles.apiKey")), null);
  });

  test("sign in with the keyboard; the key stays out of the URL", async () => {
    await page.getByLabel("API key").fill(key);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Upload files" }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("edgefiles.apiKey")), key);
    assert.ok(!page.url().includes(key));
    await page.evaluate(() => {
      window.__sameDocument = true; // gone if anything reloads the page
    });
  });

  test("upload two files: both progress bars reach 100 %, then the statuses turn completed from live events, with no polling", async () => {
    await page.locator('#live-status[data-state="live"]', { hasText: "Live" }).waitFor();
    const listings = [];
    const onRequest = (request) => {
      const url = new URL(request.url());
      if (request.method() === "GET" && url.pathname.endsWith("/entries")) listings.push(url.search);
    };
    page.on("request", onRequest);
    await page.evaluate(() => {
      // Every status the list shows for notes.txt, in order.
      window.__notesStatuses = [];
      new MutationObserver(() => {
        const link = [...document.querySelectorAll("#file-list a")].find((a) => a.textContent === "notes.txt");
        const status = link?.closest("tr").querySelector(".badge").dataset.status;
        if (status && window.__notesStatuses.at(-1) !== status) window.__notesStatuses.push(status);
      }).observe(document.querySelector("#file-list"), { subtree: true, childList: true });
    });
    await page.locator("#file-input").setInputFiles([files.notes, files.image]);
    for (const file of [files.notes, files.image]) {
      const row = uploadRow(file.name);
      await page.locator(`li.upload[data-name="${file.name}"][data-state="done"]`).waitFor();
      assert.equal(await row.locator("progress").evaluate((el) => el.value), 1);
      assert.match(await row.locator(".state").textContent(), /^100%/);
      assert.equal(await row.getByRole("button", { name: "Resume" }).isVisible(), false);
    }
    for (const file of [files.notes, files.image]) {
      await fileRow(file.name).locator('.badge[data-status="completed"]').waitFor();
    }
    // The consumer waits up to a second for a batch, so the list shows "pending" first.
    assert.deepEqual(await page.evaluate(() => window.__notesStatuses), ["pending", "completed"]);
    assert.equal(await page.evaluate(() => window.__sameDocument), true);
    await page.locator("#stat-uploads", { hasText: "2" }).waitFor();
    page.off("request", onRequest);
    // One listing as each upload finishes; none while the files were pending (events, not polls).
    assert.ok(listings.length <= 4, `the folder listed ${listings.length} times: ${listings.join(" ")}`);
  });

  test("an upload that fails after its first part resumes from the server's offset", async () => {
    // Part 1 is stored; part 2 fails on the first try and on every retry until Uppy gives up.
    await worker.fault("STORAGE.uploadPart", { skip: 1, count: 1000 });
    const patches = [];
    const onRequest = (request) => {
      if (request.method() === "PATCH") patches.push(Number(request.headers()["upload-offset"]));
    };
    page.on("request", onRequest);
    await page.locator("#file-input").setInputFiles([files.big]);
    const row = uploadRow(files.big.name);
    await page.locator('li.upload[data-name="big.bin"][data-state="failed"]').waitFor();
    await worker.clearFaults();
    const url = await row.getAttribute("data-upload-url");
    const head = await worker.api(key, url, { method: "HEAD", headers: { "tus-resumable": "1.0.0" } });
    assert.equal(head.headers.get("upload-offset"), String(PART));
    await row.getByRole("button", { name: "Resume" }).click();
    await page.locator('li.upload[data-name="big.bin"][data-state="done"]').waitFor();
    page.off("request", onRequest);
    assert.equal(await row.locator("progress").evaluate((el) => el.value), 1);
    assert.equal(patches[0], 0);
    assert.equal(patches.at(-1), PART, `PATCH offsets: ${patches.join(", ")}`); // the rest only

    await fileRow(files.big.name).locator('.badge[data-status="completed"]').waitFor();
    const listed = await (await worker.api(key, "/api/files")).json();
    const big = listed.items.find((item) => item.filename === files.big.name);
    assert.equal(big.size_bytes, BIG_SIZE);
    const content = Buffer.from(await (await worker.api(key, `/api/files/${big.id}/content`)).arrayBuffer());
    assert.equal(sha256(content), sha256(files.big.buffer));
  });

  test("the main screen, saved as a screenshot", async () => {
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-main.png"), fullPage: true });
  });

  test("cancelling an upload stops it and ends it on the server", async () => {
    const cdp = await throttleUploads(1024 * 1024);
    const file = { ...files.big, name: "cancelled.bin" };
    await page.locator("#file-input").setInputFiles([file]);
    const row = uploadRow(file.name);
    await page.locator(`li.upload[data-name="${file.name}"][data-upload-url]`).waitFor();
    const path = await row.getAttribute("data-upload-url");
    const tus = { method: "HEAD", headers: { "tus-resumable": "1.0.0" } };
    assert.equal((await worker.api(key, path, tus)).status, 200);
    await row.getByRole("button", { name: `Cancel ${file.name}` }).click();
    await page.locator(`li.upload[data-name="${file.name}"][data-state="cancelled"]`).waitFor();
    await cdp.detach();
    // The DELETE goes out right after the state changes; give it a moment, then ask the server.
    let status;
    for (let i = 0; i < 50 && status !== 404; i += 1) {
      status = (await worker.api(key, path, tus)).status;
      if (status !== 404) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 404);
    const listed = await (await worker.api(key, "/api/files")).json();
    assert.ok(!listed.items.some((item) => item.filename === file.name));
  });

  test("a file dropped on the drop zone is uploaded", async () => {
    const dataTransfer = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(["dropped onto the page"], "dropped.txt", { type: "text/plain" }));
      return transfer;
    });
    const zone = page.locator(".dropzone");
    await zone.dispatchEvent("dragenter", { dataTransfer });
    assert.equal(await zone.evaluate((el) => el.classList.contains("dragging")), true);
    await zone.dispatchEvent("drop", { dataTransfer });
    await page.locator('li.upload[data-name="dropped.txt"][data-state="done"]').waitFor();
    await fileRow("dropped.txt").waitFor();
    assert.equal(await zone.evaluate((el) => el.classList.contains("dragging")), false);
  });

  test("the text file's page: preview, summary streamed on request", async () => {
    await fileRow(files.notes.name).getByRole("link").click();
    await page.getByRole("heading", { name: files.notes.name, level: 1 }).waitFor();
    assert.equal(await page.locator("#text-preview").textContent(), NOTES);
    const id = decodeURIComponent(page.url().split("#/files/")[1]);
    const { summary } = await (await worker.api(key, `/api/files/${id}/summary`)).json();
    await page.locator("#summary", { hasText: summary }).waitFor();
    // The AI binding sends a token every few milliseconds: the text must grow on screen piece by
    // piece, not appear at the end.
    await page.evaluate(() => {
      window.__summaryLengths = [];
      const output = document.querySelector("#summary");
      new MutationObserver(() => window.__summaryLengths.push(output.textContent.length)).observe(output, { childList: true, characterData: true, subtree: true });
    });
    await page.getByRole("button", { name: "Summarize now" }).click();
    await page.getByRole("button", { name: "Summarize now" }).and(page.locator(":enabled")).waitFor();
    const streamed = await page.locator("#summary").textContent();
    assert.match(streamed, /revenue|Europe|users/);
    const growing = (await page.evaluate(() => window.__summaryLengths)).filter((n) => n > 0 && n < streamed.length);
    assert.ok(growing.length >= 2, `the summary appeared in ${growing.length + 1} step(s)`);
  });

  test("a signed link is created with the chosen expiry, copied, and opens without a key", async () => {
    await page.getByLabel("Link expires in").selectOption({ label: "5 minutes" });
    const before = Date.now();
    await page.getByRole("button", { name: "Create and copy link" }).click();
    const url = await page.getByLabel("Signed link").inputValue();
    assert.match(url, new RegExp(`^${worker.url}/d/`));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
    const note = await page.locator("#link-note").textContent();
    assert.match(note, /Copied/);
    // The link is a download (content-disposition: attachment): opening it saves the file.
    const opened = await context.newPage();
    const [download] = await Promise.all([opened.waitForEvent("download"), opened.goto(url).catch(() => null)]);
    assert.equal(download.suggestedFilename(), files.notes.name);
    assert.equal(fs.readFileSync(await download.path(), "utf8"), NOTES);
    await opened.close();
    // The chosen lifetime reached the API: the link's own expiry is about 5 minutes away.
    const payload = Buffer.from(new URL(url).pathname.split("/").pop().split(".")[0], "base64url").toString();
    const expires = Number(payload.split(":").pop());
    assert.ok(Math.abs(expires * 1000 - before - 300_000) < 60_000, `the link expires at ${expires}`);
  });

  test("the image's page: preview decoded, AI labels and description", async () => {
    await page.goto(`${worker.url}/#/`);
    await fileRow(files.image.name).getByRole("link").click();
    const preview = page.getByRole("img", { name: `Preview of ${files.image.name}` });
    await preview.waitFor();
    await page.waitForFunction(() => document.querySelector(".preview img")?.naturalWidth === 64);
    await page.locator("#labels li").first().waitFor();
    assert.match(await page.locator("#description").textContent(), /\S/);
    await page.screenshot({ path: path.join(ARTIFACTS, "web-app-file.png"), fullPage: true });
  });

  test("search finds the text file", async () => {
    await page.getByRole("searchbox", { name: "Search your files" }).fill("quarterly revenue");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    const result = page.locator("#search-results li", { hasText: files.notes.name });
    await result.waitFor();
    assert.match(await result.locator(".snippet").textContent(), /quarterly report/);
  });

  test("delete asks for confirmation and moves the file to the trash; the Trash view restores it", async () => {
    await page.locator("#search-results").getByRole("link", { name: files.notes.name }).click();
    const id = decodeURIComponent(page.url().split("#/files/")[1]);
    await page.getByRole("button", { name: "Delete file…" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete this file?" });
    assert.match(await dialog.textContent(), /moves to the trash/);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    assert.equal((await worker.api(key, `/api/files/${id}`)).status, 200);
    await page.getByRole("button", { name: "Delete file…" }).click();
    await dialog.getByRole("button", { name: "Move to trash" }).click();
    await page.getByRole("heading", { name: "Upload files" }).waitFor();
    await fileRow(files.image.name).waitFor();
    assert.equal(await fileRow(files.notes.name).count(), 0);
    assert.equal((await worker.api(key, `/api/files/${id}`)).status, 404);
    // An old link to the trashed file says so, and leads back.
    await page.goto(`${worker.url}/#/files/${encodeURIComponent(id)}`);
    await page.getByRole("heading", { name: "File not found" }).waitFor();
    await page.getByRole("link", { name: "Back to your files" }).click();
    await page.getByRole("heading", { name: "Upload files" }).waitFor();
    // In the trash, with the day it will be deleted for good; restored, it is back in the list.
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Trash" }).click();
    await page.getByRole("heading", { name: "Trash", level: 1 }).waitFor();
    assert.equal(await nav.getByRole("link", { name: "Trash" }).getAttribute("aria-current"), "page");
    const trashed = page.locator("#trash-list tbody tr", { hasText: files.notes.name });
    await trashed.waitFor();
    const entry = (await (await worker.api(key, "/api/trash")).json()).items.find((item) => item.id === id);
    assert.equal(await trashed.locator(`time[datetime="${entry.purge_after}"]`).count(), 1);
    await trashed.getByRole("button", { name: `Restore ${files.notes.name}` }).click();
    await trashed.waitFor({ state: "detached" });
    assert.equal((await worker.api(key, `/api/files/${id}`)).status, 200);
    await nav.getByRole("link", { name: "Files" }).click();
    await fileRow(files.notes.name).waitFor();
    assert.equal(await page.locator("#trash-list").count(), 0);
  });

  test("accessible: every control has a name, focus is visible", async () => {
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll("input, select, button, a[href]")]
        .filter((el) => el.offsetParent !== null || el.type === "file")
        .filter((el) => !(el.labels?.length || el.getAttribute("aria-label") || el.textContent.trim()))
        .map((el) => el.outerHTML),
    );
    assert.deepEqual(unnamed, []);
    await page.getByRole("button", { name: "Sign out" }).focus();
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Tab");
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, "none");
    // The file picker is reached by keyboard, and its drop zone shows the focus.
    await page.getByRole("link", { name: "Skip to content" }).focus();
    for (let i = 0; i < 15 && (await page.evaluate(() => document.activeElement.id)) !== "file-input"; i += 1) {
      await page.keyboard.press("Tab");
    }
    assert.equal(await page.evaluate(() => document.activeElement.id), "file-input");
    assert.notEqual(await page.locator(".dropzone").evaluate((el) => getComputedStyle(el).outlineStyle), "none");
  });

  test("usable at phone width: nothing overflows sideways", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const small = await phone.newPage();
    await small.goto(worker.url);
    await small.getByLabel("API key").fill(key);
    await small.getByRole("button", { name: "Sign in" }).click();
    await small.locator("#file-list tbody tr").first().waitFor({ timeout: UI_TIMEOUT });
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await small.screenshot({ path: path.join(ARTIFACTS, "web-app-phone.png"), fullPage: true });
    await phone.close();
  });

  test("signing out forgets the key and the uploads shown", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("edgefiles.apiKey")), null);
    await page.getByLabel("API key").fill(await worker.mintKey("second-user"));
    await page.keyboard.press("Enter");
    await page.locator("#file-list + .empty").waitFor();
    assert.equal(await page.locator("li.upload").count(), 0);
  });

  test("the list pages through 20 files at a time", async () => {
    const second = await page.evaluate(() => sessionStorage.getItem("edgefiles.apiKey"));
    for (let i = 1; i <= 21; i += 1) {
      const name = `page-${String(i).padStart(2, "0")}.txt`;
      const response = await worker.api(second, `/api/files/${name}`, { method: "PUT", body: name, headers: { "content-type": "text/plain" } });
      assert.equal(response.status, 201);
    }
    await page.reload();
    const rows = page.locator("#file-list tbody tr");
    await rows.nth(19).waitFor();
    assert.equal(await rows.count(), 20);
    assert.equal(await rows.first().getByRole("link").textContent(), "page-01.txt"); // by name
    assert.equal(await page.getByRole("button", { name: "Previous" }).isDisabled(), true);
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByText("Page 2").waitFor();
    assert.deepEqual(await rows.getByRole("link").allTextContents(), ["page-21.txt"]);
    assert.equal(await page.getByRole("button", { name: "Next" }).isDisabled(), true);
    await page.getByRole("button", { name: "Previous" }).click();
    await page.getByText("Page 1").waitFor();
    assert.equal(await rows.count(), 20);
  });

  // Last of the uploads: analysing an image of several MB keeps the local consumer busy for a
  // while, and nothing after this step waits on the Worker through the page.
  test("a phone photo (a 12-megapixel JPEG of several MB) uploads in one tus request", async () => {
    await page.goto(`${worker.url}/#/`);
    await page.getByRole("heading", { name: "Upload files" }).waitFor();
    // Drawn and encoded by the browser itself: a real JPEG, photo-sized, of a photo's entropy.
    const encoded = await page.evaluate(async () => {
      const canvas = new OffscreenCanvas(3024, 4032);
      const context2d = canvas.getContext("2d");
      const sky = context2d.createLinearGradient(0, 0, 0, canvas.height);
      sky.addColorStop(0, "#4a90d9");
      sky.addColorStop(1, "#e8c170");
      context2d.fillStyle = sky;
      context2d.fillRect(0, 0, canvas.width, canvas.height);
      const pixels = context2d.getImageData(0, 0, canvas.width, canvas.height);
      let seed = 42;
      for (let i = 0; i < pixels.data.length; i += 4) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const grain = (seed % 48) - 24; // sensor noise
        pixels.data[i] += grain;
        pixels.data[i + 1] += grain;
        pixels.data[i + 2] += grain;
      }
      context2d.putImageData(pixels, 0, 0);
      const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.9 });
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let binary = "";
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(binary);
    });
    const photo = { name: "IMG_0001.jpg", mimeType: "image/jpeg", buffer: Buffer.from(encoded, "base64") };
    assert.ok(photo.buffer.length > 2 * 1024 * 1024 && photo.buffer.length < MAX_FILE_SIZE, `${photo.buffer.length} bytes`);
    const puts = [];
    const onRequest = (request) => {
      if (request.url().includes("/api/")) puts.push(`${request.method()} ${new URL(request.url()).pathname}`);
    };
    page.on("request", onRequest);
    try {
      await page.locator("#file-input").setInputFiles([photo]);
      await page.locator(`li.upload[data-name="${photo.name}"][data-state="done"]`).waitFor();
    } finally {
      page.off("request", onRequest);
    }
    const writes = puts.filter((line) => !line.startsWith("GET") && !line.startsWith("HEAD"));
    assert.equal(writes.length, 2, writes.join(", "));
    assert.equal(writes[0], "POST /api/tus/");
    assert.match(writes[1], /^PATCH \/api\/tus\/[0-9a-f-]{36}$/);
    // Whoever is signed in now (the paging step signs in as another user).
    const signedIn = await page.evaluate(() => sessionStorage.getItem("edgefiles.apiKey"));
    const listed = await (await worker.api(signedIn, "/api/files?limit=100")).json();
    const [file] = listed.items.filter((item) => item.filename === photo.name);
    assert.equal(file.size_bytes, photo.buffer.length);
    const stored = Buffer.from(await (await worker.api(signedIn, file.links.content)).arrayBuffer());
    assert.equal(sha256(stored), sha256(photo.buffer));
  });

  test("no script errors or Content-Security-Policy violations on the way", () => {
    assert.deepEqual(pageErrors, []);
  });
});
