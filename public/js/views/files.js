// The main screen: one folder of the user's tree (#/ is the root, #/folders/ID a folder) with its
// breadcrumbs, the upload area (files go into the folder shown, over tus), the folder's entries
// (folders first, then files, by name, 20 at a time) and the stats panel with the quota. A file
// is moved by dragging its row onto a folder (a row or a breadcrumb) or with its "Move to" menu.
// Rows follow the live event stream; while it is down a pending file is polled for every second.
import { call, getJson, sendJson } from "../api.js";
import { confirmAction } from "../confirm.js";
import { isLive, onLiveEvent } from "../live.js";
import { announce, formatBytes, formatDate, h, statusBadge } from "../dom.js";
import { FileUpload } from "../uploader.js";
import { renderStats } from "./stats.js";

const PAGE_SIZE = 20;
const POLL_MS = 1000;
const DRAG_TYPE = "application/x-edgefiles-file";
// Uploads stay on screen across visits to other views within this tab.
const uploads = [];

const folderHref = (id) => (id === "root" || id === null ? "#/" : `#/folders/${encodeURIComponent(id)}`);

export function renderFiles(main, { limits, onError, folderId = "root" }) {
  const uploadList = h("ul", { class: "uploads", "aria-label": "Uploads" });
  const tableBody = h("tbody");
  const table = h(
    "table",
    { id: "file-list" },
    h("caption", { class: "visually-hidden" }, "Folders and files"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col", class: "num" }, "Size"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Uploaded"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    tableBody,
  );
  const empty = h("p", { class: "empty", hidden: true }, "This folder is empty. Upload files above, or create a folder.");
  const previous = h("button", { type: "button", class: "secondary", onclick: () => turnPage(-1) }, "Previous");
  const next = h("button", { type: "button", class: "secondary", onclick: () => turnPage(1) }, "Next");
  const pageLabel = h("span", { class: "hint", "aria-live": "polite" });
  const statsPanel = h("aside", { class: "card stats", "aria-labelledby": "stats-title" });
  const crumbs = h("ol", { class: "crumbs" });
  const heading = h("h2", { id: "files-title" }, "Your files");
  const folderName = h("input", { id: "new-folder-name", name: "name", required: true, maxlength: "255", autocomplete: "off" });
  const newFolder = h(
    "form",
    { class: "row new-folder", onsubmit: (event) => { event.preventDefault(); createFolder(); } },
    h("label", { for: "new-folder-name" }, "New folder"),
    folderName,
    h("button", { type: "submit", class: "secondary" }, "Create folder"),
  );

  // cursors[i] is the cursor of page i (null for the first page).
  const cursors = [null];
  let page = 0;
  let pollTimer = null;
  let active = true;
  let refreshes = 0;
  let parentId = null; // the shown folder's parent ("root" for a top folder), null at the root
  let subfolders = [];
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
    h("span", { class: "hint block" }, "Any size: large files are sent in parts, and an interrupted upload goes on where it stopped — choose the same file again, even after a reload."),
  );
  for (const type of ["dragenter", "dragover"]) {
    dropzone.addEventListener(type, (event) => {
      if (event.dataTransfer?.types.includes(DRAG_TYPE)) return;
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
        h("nav", { class: "breadcrumbs", "aria-label": "Folder path" }, crumbs),
        h("section", { class: "card", "aria-labelledby": "upload-title" }, h("h1", { id: "upload-title" }, "Upload files"), dropzone, uploadList),
        h("section", { class: "card", "aria-labelledby": "files-title" }, heading, newFolder, table, empty, h("div", { class: "pager" }, previous, pageLabel, next)),
      ),
      statsPanel,
    ),
  );
  for (const upload of uploads) uploadList.append(uploadRow(upload));

  function addFiles(fileList) {
    for (const file of fileList) {
      const upload = new FileUpload(file, { folderId: folderId === "root" ? null : folderId });
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
      if (upload.uploadUrl) row.dataset.uploadUrl = upload.uploadUrl;
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

  async function createFolder() {
    const name = folderName.value;
    try {
      await sendJson("/api/folders", "POST", { name, parent_id: folderId === "root" ? null : folderId });
    } catch (error) {
      onError(error);
      return;
    }
    folderName.value = "";
    announce(`Folder ${name} created`);
    refresh();
  }

  async function moveFile(fileId, target, name) {
    try {
      await sendJson(`/api/files/${encodeURIComponent(fileId)}`, "PATCH", { folder_id: target === "root" ? null : target });
    } catch (error) {
      onError(error);
      return;
    }
    announce(`${name} moved`);
    refresh();
  }

  async function deleteFolder(folder) {
    const confirmed = await confirmAction({
      title: `Delete ${folder.name}?`,
      message: "The folder and everything in it go to the trash, where they can be restored.",
      confirmLabel: "Move to trash",
    });
    if (!confirmed) return;
    try {
      await call(`/api/folders/${encodeURIComponent(folder.id)}`, { method: "DELETE" });
    } catch (error) {
      onError(error);
      return;
    }
    announce(`${folder.name} moved to the trash`);
    refresh();
  }

  // A folder row or a breadcrumb accepts a file row dropped on it.
  function dropTarget(element, target) {
    element.addEventListener("dragover", (event) => {
      if (!event.dataTransfer.types.includes(DRAG_TYPE)) return;
      event.preventDefault();
      element.classList.add("drop-target");
    });
    element.addEventListener("dragleave", () => element.classList.remove("drop-target"));
    element.addEventListener("drop", (event) => {
      const dragged = event.dataTransfer.getData(DRAG_TYPE);
      element.classList.remove("drop-target");
      if (!dragged) return;
      event.preventDefault();
      const { id, name } = JSON.parse(dragged);
      moveFile(id, target, name);
    });
    return element;
  }

  function paintCrumbs(path) {
    const steps = [{ id: "root", name: "All files" }, ...path];
    crumbs.replaceChildren(
      ...steps.map((step, i) => {
        const last = i === steps.length - 1;
        const link = h("a", { href: folderHref(step.id), "aria-current": last ? "page" : null }, step.name);
        return h("li", {}, last ? link : dropTarget(link, step.id));
      }),
    );
    heading.textContent = path.length ? path[path.length - 1].name : "Your files";
    parentId = path.length > 1 ? path[path.length - 2].id : path.length === 1 ? "root" : null;
  }

  function folderRow(folder) {
    const row = h(
      "tr",
      { dataset: { folderId: folder.id }, class: "folder" },
      h("td", { class: "name", "data-label": "Name" }, h("span", { class: "icon", "aria-hidden": "true" }, "📁 "), h("a", { href: folderHref(folder.id) }, folder.name)),
      h("td", { class: "num", "data-label": "Size" }, ""),
      h("td", { "data-label": "Type" }, "Folder"),
      h("td", { "data-label": "Status" }, ""),
      h("td", { "data-label": "Uploaded" }, formatDate(folder.created_at)),
      h("td", {}, h("button", { type: "button", class: "secondary", "aria-label": `Delete folder ${folder.name}`, onclick: () => deleteFolder(folder) }, "Delete")),
    );
    return dropTarget(row, folder.id);
  }

  function fileRow(file) {
    const choices = [...(parentId ? [{ id: parentId, name: "Up one folder" }] : []), ...subfolders.map((f) => ({ id: f.id, name: f.name }))];
    const move = h(
      "select",
      { "aria-label": `Move ${file.filename} to`, disabled: choices.length === 0, onchange: (event) => event.target.value && moveFile(file.id, event.target.value, file.filename) },
      h("option", { value: "" }, "Move to…"),
      ...choices.map((choice) => h("option", { value: choice.id }, choice.name)),
    );
    const row = h(
      "tr",
      { dataset: { fileId: file.id, status: file.status }, draggable: "true" },
      h("td", { class: "name", "data-label": "Name" }, h("a", { href: `#/files/${encodeURIComponent(file.id)}` }, file.filename)),
      h("td", { class: "num", "data-label": "Size" }, formatBytes(file.size_bytes)),
      h("td", { "data-label": "Type" }, file.content_type),
      h("td", { "data-label": "Status" }, statusBadge(file.status)),
      h("td", { "data-label": "Uploaded" }, formatDate(file.created_at)),
      h("td", {}, move),
    );
    row.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData(DRAG_TYPE, JSON.stringify({ id: file.id, name: file.filename }));
      event.dataTransfer.effectAllowed = "move";
    });
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
    previous.disabled = next.disabled = true;
    let listing;
    let folder;
    try {
      [listing, folder] = await Promise.all([
        getJson(`/api/folders/${encodeURIComponent(folderId)}/entries?${query}`),
        getJson(`/api/folders/${encodeURIComponent(folderId)}`),
        renderStats(statsPanel).catch((e) => active && onError(e)),
      ]);
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
    paintCrumbs(folder.path);
    subfolders = listing.items.filter((item) => item.kind === "folder");
    tableBody.replaceChildren(...listing.items.map((item) => (item.kind === "folder" ? folderRow(item) : fileRow(item))));
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
    const here = (event.file?.folder_id ?? "root") === folderId;
    if (event.type === "file.updated" && row) row.replaceWith(fileRow(event.file));
    else if ((event.type === "file.deleted" || event.type === "file.trashed") && row) {
      row.remove();
      empty.hidden = tableBody.rows.length > 0 || page > 0;
    } else if ((event.type === "file.created" || event.type === "file.restored") && !row && here) {
      // In its place by name, which may be on any page: the page is loaded again.
      return void refresh();
    }
    schedulePoll();
  });

  function paintPager(current, nextCursor) {
    previous.disabled = current === 0;
    next.disabled = !nextCursor;
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
