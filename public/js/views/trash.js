// The trash: files their owner deleted, kept (and still counted against the quota) for the
// deployment's retention, then purged. Each can be restored or deleted for good; "Empty trash"
// deletes them all, in the API's batches (it answers `more` while files are left).
import { call, getJson } from "../api.js";
import { confirmAction } from "../confirm.js";
import { onLiveEvent } from "../live.js";
import { announce, formatBytes, formatDate, h, plural } from "../dom.js";

const PAGE_SIZE = 50;
const MAX_EMPTY_ROUNDS = 1000; // a guard against an answer that says `more` for ever

export function renderTrash(main, { limits, onError }) {
  let active = true;
  let loads = 0;
  let cursor = null;
  const body = h("tbody");
  const table = h(
    "table",
    { id: "trash-list" },
    h("caption", { class: "visually-hidden" }, "Files in the trash"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Name"),
        h("th", { scope: "col", class: "num" }, "Size"),
        h("th", { scope: "col" }, "Moved to the trash"),
        h("th", { scope: "col" }, "Deleted for good after"),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
      ),
    ),
    body,
  );
  const empty = h("p", { class: "empty", hidden: true }, "The trash is empty.");
  const more = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => load(true) }, "Show more");
  const emptyButton = h("button", { type: "button", class: "danger", onclick: emptyTrash, disabled: true }, "Empty trash");
  const days = limits.trash_retention_days;

  main.replaceChildren(
    h(
      "section",
      { class: "card", "aria-labelledby": "trash-title" },
      h("p", {}, h("a", { href: "#/" }, "← All files")),
      h("div", { class: "row spread" }, h("h1", { id: "trash-title" }, "Trash"), emptyButton),
      h(
        "p",
        { class: "hint" },
        `Deleted files stay here${days ? ` for ${plural(days, "day")}` : ""}, then they are deleted for good. Until then they count against your storage quota.`,
      ),
      table,
      empty,
      h("div", { class: "pager" }, more),
    ),
  );

  // The first page again, or (`append`) the next one.
  async function load(append = false) {
    const mine = ++loads;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (append && cursor) query.set("cursor", cursor);
    let listing;
    try {
      listing = await getJson(`/api/trash?${query}`);
    } catch (error) {
      if (active && mine === loads) onError(error);
      return;
    }
    if (!active || mine !== loads) return;
    cursor = listing.next_cursor;
    const rows = listing.items.map(row);
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    more.hidden = !cursor;
    paintEmpty();
  }

  function paintEmpty() {
    const none = body.rows.length === 0;
    empty.hidden = !none;
    table.hidden = none;
    emptyButton.disabled = none;
  }

  function row(file) {
    const name = file.filename;
    const tr = h("tr", { dataset: { fileId: file.id } });
    const restore = h(
      "button",
      {
        type: "button",
        class: "secondary",
        "aria-label": `Restore ${name}`,
        onclick: async () => {
          try {
            await call(`/api/trash/${encodeURIComponent(file.id)}/restore`, { method: "POST" });
            tr.remove();
            paintEmpty();
            announce(`${name} restored`);
          } catch (error) {
            onError(error);
          }
        },
      },
      "Restore",
    );
    const destroy = h(
      "button",
      {
        type: "button",
        class: "danger",
        "aria-label": `Delete ${name} forever`,
        onclick: async () => {
          const confirmed = await confirmAction({
            title: "Delete this file forever?",
            message: `“${name}” will be deleted for good. This cannot be undone.`,
            confirmLabel: "Delete forever",
          });
          if (!confirmed) return;
          try {
            await call(`/api/trash/${encodeURIComponent(file.id)}`, { method: "DELETE" });
            tr.remove();
            paintEmpty();
            announce(`${name} deleted for good`);
          } catch (error) {
            onError(error);
          }
        },
      },
      "Delete forever",
    );
    tr.append(
      h("td", { class: "name", "data-label": "Name" }, name),
      h("td", { class: "num", "data-label": "Size" }, formatBytes(file.size_bytes)),
      h("td", { "data-label": "Moved to the trash" }, formatDate(file.trashed_at)),
      h("td", { "data-label": "Deleted for good after" }, h("time", { datetime: file.purge_after }, formatDate(file.purge_after))),
      h("td", {}, h("div", { class: "row" }, restore, destroy)),
    );
    return tr;
  }

  async function emptyTrash() {
    const confirmed = await confirmAction({
      title: "Empty the trash?",
      message: "Every file in the trash will be deleted for good. This cannot be undone.",
      confirmLabel: "Empty trash",
    });
    if (!confirmed) return;
    emptyButton.disabled = true;
    let deleted = 0;
    try {
      for (let round = 0; round < MAX_EMPTY_ROUNDS; round += 1) {
        const answer = await (await call("/api/trash", { method: "DELETE" })).json();
        deleted += answer.deleted;
        if (!answer.more) break;
      }
      announce(`${plural(deleted, "file")} deleted for good`);
    } catch (error) {
      onError(error);
    }
    if (active) await load();
  }

  const unsubscribe = onLiveEvent((event) => {
    if (!active) return;
    if (event.type === "resync" || event.type === "file.trashed") load();
    else if (event.type === "file.restored" || event.type === "file.deleted") {
      body.querySelector(`tr[data-file-id="${CSS.escape(event.file?.id ?? "")}"]`)?.remove();
      paintEmpty();
    }
  });

  load();
  return () => {
    active = false;
    unsubscribe();
  };
}
