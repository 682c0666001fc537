// The main screen: upload area, the file list (paged; rows and stats follow the live event
// stream, and are polled every second while a file is pending only when the stream is down) and
// the stats panel with the quota. A file moved to the trash leaves the list; one restored returns.
import { getJson } from "../api.js";
import { isLive, onLiveEvent } from "../live.js";
import { announce, formatBytes, formatDate, h, statusBadge } from "../dom.js";
import { FileUpload } from "../uploader.js";
import { renderStats } from "./stats.js";

const PAGE_SIZE = 20;
const POLL_MS = 1000;
// Uploads stay on screen across visits to other views within this tab.
const uploads = [];

export function renderFiles(main, { limits, onError }) {
  const uploadList = h("ul", { class: "uploads", "aria-label": "Uploads" });
  const tableBody = h("tbody");
  const table = h(
    "table",
    { id: "file-list" },
    h("caption", { class: "visually-hidden" }, "Your files"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col", class: "num" }, "Size"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Uploaded"))),
    tableBody,
  );
  const empty = h("p", { class: "empty", hidden: true }, "No files yet. Upload one above.");
  const newer = h("button", { type: "button", class: "secondary", onclick: () => turnPage(-1) }, "Newer");
  const older = h("button", { type: "button", class: "secondary", onclick: () => turnPage(1) }, "Older");
  const pageLabel = h("span", { class: "hint", "aria-live": "polite" });
  const statsPanel = h("aside", { class: "card stats", "aria-labelledby": "stats-title" });

  // cursors[i] is the cursor of page i (null for the first page).
  const cursors = [null];
  let page = 0;
  let pollTimer = null;
  let active = true;
  let refreshes = 0;
  // Listeners on uploads (which outlive this view) are removed when the view is left.
  const viewLifetime = new AbortController();
  const { signal } = viewLifetime;

  const picker = h("input", { id: "file-input", type: "file", multiple: true, onchange: () => {
    addFiles(picker.files);
    picker.value = "";
  } });
  const dropzone = h(
    "label",
    { class: "dropzone", for: "file-input" },
    picker,
    h("strong", {}, "Drop files here or choose files"),
    h("span", { class: "hint block" }, `Up to ${formatBytes(limits.max_file_size)} in one request; larger files are sent in parts and can be resumed.`),
  );
  for (const type of ["dragenter", "dragover"]) {
    dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  }
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("dragging"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("dragging");
    addFiles(event.dataTransfer.files);
  });

  main.replaceChildren(
    h(
      "div",
      { class: "layout" },
      h(
        "div",
        {},
        h("section", { class: "card", "aria-labelledby": "upload-title" }, h("h1", { id: "upload-title" }, "Upload files"), dropzone, uploadList),
        h("section", { class: "card", "aria-labelledby": "files-title" }, h("h2", { id: "files-title" }, "Your files"), table, empty, h("div", { class: "pager" }, newer, pageLabel, older)),
      ),
      statsPanel,
    ),
  );
  for (const upload of uploads) uploadList.append(uploadRow(upload));

  function addFiles(fileList) {
    for (const file of fileList) {
      const upload = new FileUpload(file, limits);
      uploads.push(upload);
      uploadList.append(uploadRow(upload));
      upload.start();
    }
  }

  function uploadRow(upload) {
    const name = upload.file.name;
    const progress = h("progress", { max: 1, value: upload.fraction, "aria-label": `Upload progress of ${name}` });
    const state = h("span", { class: "state" });
    const again = h("button", { type: "button", class: "secondary", onclick: () => upload.resume() });
    const cancel = h("button", { type: "button", class: "secondary", "aria-label": `Cancel ${name}`, onclick: () => upload.cancel() }, "Cancel");
    const row = h("li", { class: "upload card", tabindex: "-1", dataset: { name } }, h("span", { class: "name" }, name), h("span", { class: "row" }, state, again, cancel), progress);
    let shown = upload.state;
    const paint = () => {
      progress.value = upload.fraction;
      const percent = Math.round(upload.fraction * 100);
      progress.setAttribute("aria-valuetext", `${percent}%`);
      row.dataset.state = upload.state;
      if (upload.uploadId) row.dataset.uploadId = upload.uploadId;
      row.classList.toggle("failed", upload.state === "failed");
      const words = {
        queued: "waiting",
        uploading: `${percent}%${upload.detail ? ` · ${upload.detail}` : ""}`,
        done: "100% · uploaded",
        failed: upload.detail,
        cancelled: "cancelled",
      };
      state.textContent = words[upload.state];
      again.textContent = upload.resumable ? "Resume" : "Retry";
      again.setAttribute("aria-label", `${again.textContent} ${name}`);
      const focused = document.activeElement;
      again.hidden = upload.state !== "failed";
      cancel.hidden = upload.state !== "uploading" && upload.state !== "failed";
      // A button that hides itself must not drop keyboard focus to the page.
      if ((focused === again || focused === cancel) && focused.hidden) (cancel.hidden ? (again.hidden ? row : again) : cancel).focus();
      if (upload.state !== shown) {
        shown = upload.state;
        if (shown === "done") {
          announce(`${name} uploaded`);
          refresh();
        } else if (shown === "failed") announce(`${name} failed: ${upload.detail}`);
      }
    };
    upload.addEventListener("change", paint, { signal });
    paint();
    return row;
  }

  function turnPage(step) {
    const target = page + step;
    if (target < 0 || (step > 0 && !cursors[target])) return;
    refresh(target);
  }

  // Loads page `target` (default: the current one); the page number changes only once it loaded.
  async function refresh(target = page) {
    clearTimeout(pollTimer);
    const mine = ++refreshes;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursors[target]) query.set("cursor", cursors[target]);
    newer.disabled = older.disabled = true;
    let listing;
    try {
      [listing] = await Promise.all([getJson(`/api/files?${query}`), renderStats(statsPanel).catch((e) => active && onError(e))]);
    } catch (error) {
      if (active && mine === refreshes) {
        onError(error);
        paintPager(page, cursors[page + 1]);
      }
      return;
    }
    // A later refresh (an upload finishing, a page turn) supersedes this one.
    if (!active || mine !== refreshes) return;
    page = target;
    cursors[page + 1] = listing.next_cursor;
    tableBody.replaceChildren(...listing.items.map(fileRow));
    empty.hidden = listing.items.length > 0 || page > 0;
    paintPager(page, listing.next_cursor);
    schedulePoll();
  }

  // The fallback: while the live stream is down, a pending file is polled for.
  function schedulePoll() {
    clearTimeout(pollTimer);
    const pending = tableBody.querySelector('tr[data-status="pending"]');
    if (pending && !isLive()) pollTimer = setTimeout(refresh, POLL_MS);
  }

  const unsubscribe = onLiveEvent((event) => {
    if (!active) return;
    if (event.type === "resync") return void refresh();
    if (event.type === "stats.updated") return void renderStats(statsPanel, event.stats).catch(() => {});
    const row = event.file && tableBody.querySelector(`tr[data-file-id="${CSS.escape(event.file.id)}"]`);
    if (event.type === "file.updated" && row) row.replaceWith(fileRow(event.file));
    else if ((event.type === "file.deleted" || event.type === "file.trashed") && row) {
      row.remove();
      empty.hidden = tableBody.rows.length > 0 || page > 0;
    } else if (event.type === "file.restored" && !row) {
      // Back in its place by upload time, which may be on any page: the page is loaded again.
      return void refresh();
    } else if (event.type === "file.created" && !row && page === 0) {
      tableBody.prepend(fileRow(event.file));
      while (tableBody.rows.length > PAGE_SIZE) tableBody.lastElementChild.remove();
      empty.hidden = true;
    }
    schedulePoll();
  });

  function paintPager(current, nextCursor) {
    newer.disabled = current === 0;
    older.disabled = !nextCursor;
    const label = `Page ${current + 1}`;
    if (pageLabel.textContent !== label) pageLabel.textContent = label; // live region: only real changes
  }

  refresh();
  return () => {
    active = false;
    unsubscribe();
    clearTimeout(pollTimer);
    viewLifetime.abort();
  };
}

// On sign-out: another user's uploads must not show.
export function forgetUploads() {
  for (const upload of uploads) upload.cancel();
  uploads.length = 0;
}

function fileRow(file) {
  return h(
    "tr",
    { dataset: { fileId: file.id, status: file.status } },
    h("td", { class: "name", "data-label": "Name" }, h("a", { href: `#/files/${encodeURIComponent(file.id)}` }, file.filename)),
    h("td", { class: "num", "data-label": "Size" }, formatBytes(file.size_bytes)),
    h("td", { "data-label": "Type" }, file.content_type),
    h("td", { "data-label": "Status" }, statusBadge(file.status)),
    h("td", { "data-label": "Uploaded" }, formatDate(file.created_at)),
  );
}
