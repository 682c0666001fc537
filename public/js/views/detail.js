// A file's page: facts, preview (images, text), AI results with a streamed summary, share links
// (created with an expiry and optionally a password, a download limit and a label; listed with
// their use; revoked) and delete (to the trash).
import { ApiError, call, getAllItems, getJson, readEventStream, sendJson } from "../api.js";
import { confirmAction } from "../confirm.js";
import { isLive, onLiveEvent } from "../live.js";
import { announce, copyText, formatBytes, formatDate, h, labelled, statusBadge } from "../dom.js";

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
  [2592000, "30 days"],
  [7776000, "90 days"],
];
const MAX_DOWNLOADS = 1_000_000;

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
          h(
            "section",
            { class: "card" },
            h("h1", {}, "File not found"),
            h("p", {}, "It may have been deleted or moved to the ", h("a", { href: "#/trash" }, "trash"), ". ", h("a", { href: "#/" }, "Back to your files")),
          ),
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
    if (event.type === "file.deleted" || event.type === "file.trashed") return void load();
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
      ...(file.file_request_id ? fact("Received", h("a", { href: "#/requests" }, "through a file request")) : []),
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
        preview.replaceChildren(h("pre", { id: "text-preview", tabindex: "0" }, text), ...(more ? [more] : []));
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
    const password = h("input", { id: "link-password", type: "password", minlength: 8, maxlength: 256, autocomplete: "new-password", "aria-describedby": "link-password-hint" });
    const maxDownloads = h("input", { id: "link-max-downloads", type: "number", min: 1, max: MAX_DOWNLOADS, step: 1, inputmode: "numeric" });
    const label = h("input", { id: "link-label", type: "text", maxlength: 200, autocomplete: "off" });
    const submit = h("button", { type: "submit" }, "Create and copy link");
    const output = h("div", { class: "link-output", hidden: true });
    const list = h("ul", { class: "records", id: "file-links", "aria-label": "Share links of this file", "aria-busy": "true" });
    const create = async (event) => {
      event.preventDefault();
      const body = { expires_in: Number(expiry.value) };
      if (password.value) body.password = password.value;
      if (maxDownloads.value) body.max_downloads = Number(maxDownloads.value);
      if (label.value.trim()) body.label = label.value.trim();
      submit.disabled = true;
      try {
        const link = await sendJson(`${path}/links`, "POST", body);
        const url = new URL(link.url, location.origin).href;
        const field = h("input", { id: "signed-link", type: "text", readonly: true, value: url, "aria-label": "Signed link" });
        const copied = await copyText(url, field);
        const protectedNote = link.password_protected ? " Send the password separately." : "";
        output.replaceChildren(
          field,
          h("a", { class: "button secondary", href: url, target: "_blank", rel: "noopener", id: "open-link" }, "Open"),
          h("span", { class: "hint", id: "link-note" }, `${copied ? "Copied. " : ""}Expires ${formatDate(link.expires_at)}.${protectedNote}`),
        );
        output.hidden = false;
        password.value = maxDownloads.value = label.value = "";
        announce(copied ? "Link created and copied" : "Link created");
        await loadLinks();
      } catch (error) {
        onError(error);
      } finally {
        submit.disabled = false;
      }
    };

    async function loadLinks() {
      list.setAttribute("aria-busy", "true");
      try {
        const links = await getAllItems(`/api/links?file_id=${encodeURIComponent(fileId)}`);
        if (!active) return;
        list.replaceChildren(...(links.length ? links.map(linkItem) : [h("li", { class: "empty" }, "No share links yet.")]));
      } catch (error) {
        if (active) onError(error);
      } finally {
        list.removeAttribute("aria-busy");
      }
    }

    function linkItem(link) {
      const name = link.label ?? `Link of ${formatDate(link.created_at)}`;
      const url = new URL(link.url, location.origin).href;
      const field = h("input", { type: "text", readonly: true, value: url, "aria-label": `URL of ${name}` });
      const uses =
        link.downloads === null || link.downloads === undefined
          ? "download count unavailable"
          : link.max_downloads
            ? `${link.downloads} of ${link.max_downloads} downloads`
            : `${link.downloads} download${link.downloads === 1 ? "" : "s"}`;
      const ended = link.state === "expired" ? "expired" : "expires";
      const facts = [uses, `${ended} ${formatDate(link.expires_at)}`];
      if (link.last_used_at) facts.push(`last used ${formatDate(link.last_used_at)}`);
      const copy = h(
        "button",
        {
          type: "button",
          class: "secondary",
          "aria-label": `Copy ${name}`,
          onclick: async () => announce((await copyText(url, field)) ? "Link copied" : "Select the link to copy it"),
        },
        "Copy",
      );
      const revoke = h(
        "button",
        {
          type: "button",
          class: "danger",
          "aria-label": `Revoke ${name}`,
          onclick: async () => {
            const confirmed = await confirmAction({
              title: "Revoke this link?",
              message: `“${name}” stops working at once for everyone who has it.`,
              confirmLabel: "Revoke",
            });
            if (!confirmed) return;
            try {
              await call(`/api/links/${encodeURIComponent(link.id)}`, { method: "DELETE" });
              announce(`${name} revoked`);
              await loadLinks();
            } catch (error) {
              onError(error);
            }
          },
        },
        "Revoke",
      );
      return h(
        "li",
        { class: "record", dataset: { linkId: link.id, state: link.state } },
        h(
          "div",
          { class: "row" },
          h("strong", { class: "record-name" }, name),
          statusBadge(link.state),
          link.password_protected ? h("span", { class: "tag" }, "password") : null,
        ),
        h("p", { class: "hint record-facts" }, facts.join(" · ")),
        // Revocable while it could still serve: one of a trashed file would, once the file is restored.
        h("div", { class: "row link-actions" }, field, copy, ["active", "file_trashed"].includes(link.state) ? revoke : null),
      );
    }

    loadLinks();
    return h(
      "section",
      { class: "card", "aria-labelledby": "link-title" },
      h("h2", { id: "link-title" }, "Share"),
      h(
        "form",
        { onsubmit: create, id: "link-form" },
        h(
          "div",
          { class: "fields" },
          labelled("link-expiry", "Link expires in", expiry),
          labelled("link-password", "Password (optional)", password, h("span", { class: "hint", id: "link-password-hint" }, "8 characters or more.")),
          labelled("link-max-downloads", "Download limit (optional)", maxDownloads),
          labelled("link-label", "Label (optional)", label),
        ),
        submit,
      ),
      output,
      h("h3", {}, "Links of this file"),
      h("p", { class: "hint" }, "Revoked links are no longer listed."),
      list,
    );
  }

  function deleteSection(file) {
    const days = limits.trash_retention_days;
    const remove = async () => {
      const confirmed = await confirmAction({
        title: "Delete this file?",
        message: `“${file.filename}” moves to the trash, and its share links stop working. You can restore it from the trash${days ? ` for ${days} days` : ""}; then it is deleted for good.`,
        confirmLabel: "Move to trash",
      });
      if (!confirmed) return;
      try {
        await call(path, { method: "DELETE" });
        announce(`${file.filename} moved to the trash`);
        location.hash = "#/";
      } catch (error) {
        onError(error);
      }
    };
    return h(
      "section",
      { class: "card", "aria-labelledby": "delete-title" },
      h("h2", { id: "delete-title" }, "Delete"),
      h("button", { type: "button", class: "danger", onclick: remove }, "Delete file…"),
    );
  }

  async function download(file) {
    // Through a short signed link, so the browser streams the file itself (no key in the URL).
    try {
      // A one-minute URL for the owner's own download: not a share link, nothing to list.
      const link = await sendJson(`${path}/download-url`, "POST", {});
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
