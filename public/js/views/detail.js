// A file's page: facts, preview (images, text), AI results with a streamed summary, signed
// links and delete.
import { ApiError, call, getJson, readEventStream, sendJson } from "../api.js";
import { isLive, onLiveEvent } from "../live.js";
import { announce, formatBytes, formatDate, h, statusBadge } from "../dom.js";

const TEXT_TYPES = new Set(["text/plain", "text/markdown", "text/csv", "application/json"]);
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const INLINE_TEXT_LIMIT = 64 * 1024;
const IMAGE_PREVIEW_LIMIT = 20 * 1024 * 1024;
const POLL_MS = 1000;
const LINK_LIFETIMES = [
  [300, "5 minutes"],
  [3600, "1 hour"],
  [86400, "1 day"],
  [604800, "7 days"],
];

export function renderDetail(main, fileId, { limits, onError }) {
  const path = `/api/files/${encodeURIComponent(fileId)}`;
  let active = true;
  let pollTimer = null;
  let objectUrl = null;
  let shownStatus = null;
  const streaming = new AbortController();
  main.replaceChildren(h("p", { class: "hint" }, "Loading…"));

  async function load() {
    let file;
    try {
      file = await getJson(path);
    } catch (error) {
      if (!active) return;
      if (error instanceof ApiError && error.status === 404) {
        // Deleted, never existed, or someone else's: the API answers all three the same way.
        main.replaceChildren(
          h("section", { class: "card" }, h("h1", {}, "File not found"), h("p", {}, "It may have been deleted. ", h("a", { href: "#/" }, "Back to your files"))),
        );
      } else onError(error);
      return;
    }
    if (!active) return;
    // Re-rendered only when the status moves, so the live region is not re-announced every poll.
    if (!main.querySelector(".detail")) renderPage(file);
    else if (file.status !== shownStatus) renderAnalysis(file);
    schedulePoll(file.status);
  }

  // The fallback: while the live stream is down, a pending file is polled for.
  function schedulePoll(status) {
    clearTimeout(pollTimer);
    if (status === "pending" && !isLive()) pollTimer = setTimeout(load, POLL_MS);
  }

  const unsubscribe = onLiveEvent((event) => {
    if (!active) return;
    if (event.type === "resync") return void load();
    if (event.file?.id !== fileId) return;
    if (event.type === "file.deleted") return void load();
    if (event.type === "file.updated" && main.querySelector(".detail") && event.file.status !== shownStatus) {
      renderAnalysis(event.file);
      schedulePoll(event.file.status);
    }
  });

  const facts = h("dl", { class: "facts" });
  const preview = h("div", { class: "preview" });
  const analysis = h("div", { id: "analysis", "aria-live": "polite" });

  function renderPage(file) {
    facts.replaceChildren(
      ...fact("Size", formatBytes(file.size_bytes)),
      ...fact("Type", file.content_type),
      ...fact("Status", h("span", { id: "file-status" }, statusBadge(file.status))),
      ...fact("Uploaded", formatDate(file.created_at)),
      ...(file.sha256 ? fact("SHA-256", h("code", {}, file.sha256)) : []),
    );
    main.replaceChildren(
      h(
        "article",
        { class: "detail" },
        h("p", {}, h("a", { href: "#/" }, "← All files")),
        h("h1", { id: "file-name" }, file.filename),
        h("section", { class: "card", "aria-label": "Details" }, facts, h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => download(file) }, "Download"))),
        h("section", { class: "card", "aria-labelledby": "preview-title" }, h("h2", { id: "preview-title" }, "Preview"), preview),
        h("section", { class: "card", "aria-labelledby": "analysis-title" }, h("h2", { id: "analysis-title" }, "AI analysis"), analysis),
        linkSection(),
        deleteSection(file),
      ),
    );
    renderPreview(file);
    renderAnalysis(file);
  }

  function fact(label, value) {
    return [h("dt", {}, label), h("dd", {}, value)];
  }

  async function renderPreview(file) {
    try {
      if (IMAGE_TYPES.has(file.content_type) && file.size_bytes <= IMAGE_PREVIEW_LIMIT) {
        const blob = await (await call(`${path}/content`)).blob();
        if (!active) return;
        objectUrl = URL.createObjectURL(blob);
        preview.replaceChildren(h("img", { src: objectUrl, alt: `Preview of ${file.filename}` }));
      } else if (TEXT_TYPES.has(file.content_type)) {
        const text = file.size_bytes <= INLINE_TEXT_LIMIT
          ? (await getJson(`${path}?include=content`)).content
          : await (await call(`${path}/content`, { headers: { range: `bytes=0-${INLINE_TEXT_LIMIT - 1}` } })).text();
        if (!active) return;
        const more = file.size_bytes > INLINE_TEXT_LIMIT ? h("p", { class: "hint" }, `Showing the first ${formatBytes(INLINE_TEXT_LIMIT)}.`) : null;
        preview.replaceChildren(h("pre", { id: "text-preview", tabindex: "0" }, text), more);
      } else {
        preview.replaceChildren(h("p", { class: "empty" }, "No preview for this type of file."));
      }
    } catch (error) {
      if (!active) return;
      preview.replaceChildren(h("p", { class: "empty" }, "The preview could not be loaded."));
      onError(error);
    }
  }

  function renderAnalysis(file) {
    shownStatus = file.status;
    main.querySelector("#file-status")?.replaceChildren(statusBadge(file.status));
    const result = file.ai_analysis ?? {};
    const parts = [];
    if (file.status === "pending") parts.push(h("p", { class: "hint" }, "Analysis is running; this page updates when it is done."));
    if (file.status === "failed") parts.push(h("p", { class: "empty" }, "The analysis failed.", result.error ? ` ${result.error}` : ""));
    if (result.labels?.length) {
      parts.push(h("h3", {}, "Labels"), h("ul", { class: "labels", id: "labels" }, result.labels.map((l) => h("li", {}, `${l.label} (${Math.round(l.score * 100)}%)`))));
    }
    const description = file.description ?? result.description;
    if (description) parts.push(h("h3", {}, "Description"), h("p", { id: "description" }, description));
    if (TEXT_TYPES.has(file.content_type) && file.status !== "pending") parts.push(...summaryBlock(result.summary));
    if (!parts.length) parts.push(h("p", { class: "empty" }, "No analysis for this type of file."));
    analysis.replaceChildren(...parts);
  }

  function summaryBlock(stored) {
    const output = h("p", { class: "summary", id: "summary" }, stored ?? "No summary yet.");
    const button = h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: async () => {
          button.disabled = true;
          output.textContent = "";
          output.setAttribute("aria-busy", "true");
          try {
            await readEventStream(`${path}/summary?stream=1`, (data) => {
              output.textContent += JSON.parse(data).response ?? "";
            }, { signal: streaming.signal });
            announce("Summary ready");
          } catch (error) {
            if (error.name !== "AbortError") onError(error);
          } finally {
            output.removeAttribute("aria-busy");
            button.disabled = false;
          }
        },
      },
      "Summarize now",
    );
    return [h("h3", {}, "Summary"), output, h("p", {}, button)];
  }

  function linkSection() {
    const { min, max } = limits.link_lifetime_seconds;
    const expiry = h(
      "select",
      { id: "link-expiry" },
      LINK_LIFETIMES.filter(([seconds]) => seconds >= min && seconds <= max).map(([seconds, label]) =>
        h("option", { value: seconds, selected: seconds === 3600 }, label),
      ),
    );
    const output = h("div", { class: "link-output", hidden: true });
    const create = async () => {
      try {
        const link = await sendJson(`${path}/links`, "POST", { expires_in: Number(expiry.value) });
        const url = new URL(link.url, location.origin).href;
        const field = h("input", { id: "signed-link", type: "text", readonly: true, value: url, "aria-label": "Signed link" });
        const copied = await copyText(url, field);
        output.replaceChildren(
          field,
          h("a", { class: "button secondary", href: url, target: "_blank", rel: "noopener", id: "open-link" }, "Open"),
          h("span", { class: "hint", id: "link-note" }, `${copied ? "Copied. " : ""}Expires ${formatDate(link.expires_at)}.`),
        );
        output.hidden = false;
        announce(copied ? "Link created and copied" : "Link created");
      } catch (error) {
        onError(error);
      }
    };
    return h(
      "section",
      { class: "card", "aria-labelledby": "link-title" },
      h("h2", { id: "link-title" }, "Share"),
      h("div", { class: "row" }, h("label", { for: "link-expiry" }, "Link expires in"), expiry, h("button", { type: "button", onclick: create }, "Create and copy link")),
      output,
    );
  }

  function deleteSection(file) {
    const dialog = h(
      "dialog",
      { id: "confirm-delete", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, "Delete this file?"),
      h("p", {}, `“${file.filename}” will be deleted for good, and its links stop working.`),
      h(
        "form",
        { method: "dialog", class: "row" },
        h("button", { value: "cancel", class: "secondary", autofocus: true }, "Cancel"),
        h("button", { value: "delete", class: "danger" }, "Delete"),
      ),
    );
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "delete") return;
      try {
        await call(path, { method: "DELETE" });
        announce(`${file.filename} deleted`);
        location.hash = "#/";
      } catch (error) {
        onError(error);
      }
    });
    return h(
      "section",
      { class: "card", "aria-labelledby": "delete-title" },
      h("h2", { id: "delete-title" }, "Delete"),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          onclick: () => {
            dialog.returnValue = ""; // Escape keeps the last value: it must never be a stale "delete"
            dialog.showModal();
          },
        },
        "Delete file…",
      ),
      dialog,
    );
  }

  async function download(file) {
    // Through a short signed link, so the browser streams the file itself (no key in the URL).
    try {
      const link = await sendJson(`${path}/links`, "POST", { expires_in: limits.link_lifetime_seconds.min });
      const anchor = h("a", { href: link.url, download: file.filename });
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
    } catch (error) {
      onError(error);
    }
  }

  load();
  return () => {
    active = false;
    unsubscribe();
    clearTimeout(pollTimer);
    streaming.abort();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
  };
}

async function copyText(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard permission (or not a secure context): select the text for a manual copy.
    field.addEventListener("focus", () => field.select(), { once: true });
    return false;
  }
}
