// Activity: the account's security-relevant events (/api/audit), newest first: keys, share
// links and file requests created, used and revoked, wrong passwords, quota changes.
import { getJson } from "../api.js";
import { formatBytes, formatDate, h } from "../dom.js";

const PAGE_SIZE = 50;
const ACTIONS = {
  "key.created": "API key created",
  "key.revoked": "API key revoked",
  "link.created": "Share link created",
  "link.revoked": "Share link revoked",
  "link.used": "Share link used",
  "link.password_refused": "Wrong password for a share link",
  "file_request.created": "File request created",
  "file_request.revoked": "File request closed",
  "file_request.used": "File received through a request",
  "quota.changed": "Quota changed",
};
const ACTORS = { user: "you", admin: "the administrator", link: "someone with the link" };

export function renderActivity(main, { onError }) {
  let active = true;
  let cursor = null;
  const body = h("tbody");
  const table = h(
    "table",
    { id: "activity-list" },
    h("caption", { class: "visually-hidden" }, "Activity"),
    h(
      "thead",
      {},
      h("tr", {}, h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, "What"), h("th", { scope: "col" }, "By"), h("th", { scope: "col" }, "Details")),
    ),
    body,
  );
  const empty = h("p", { class: "empty", hidden: true }, "Nothing has happened yet.");
  const more = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => load() }, "Show older");

  main.replaceChildren(
    h(
      "section",
      { class: "card", "aria-labelledby": "activity-title" },
      h("p", {}, h("a", { href: "#/" }, "← All files")),
      h("h1", { id: "activity-title" }, "Activity"),
      table,
      empty,
      h("div", { class: "pager" }, more),
    ),
  );

  async function load() {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) query.set("cursor", cursor);
    more.disabled = true;
    try {
      const listing = await getJson(`/api/audit?${query}`);
      if (!active) return;
      body.append(...listing.items.map(row));
      cursor = listing.next_cursor;
      more.hidden = !cursor;
      empty.hidden = body.rows.length > 0;
      table.hidden = body.rows.length === 0;
    } catch (error) {
      if (active) onError(error);
    } finally {
      more.disabled = false;
    }
  }

  load();
  return () => {
    active = false;
  };
}

function row(event) {
  const text = describe(event.detail);
  return h(
    "tr",
    { dataset: { seq: event.seq, action: event.action } },
    h("td", { "data-label": "When" }, h("time", { datetime: event.at }, formatDate(event.at))),
    h("td", { "data-label": "What" }, ACTIONS[event.action] ?? event.action),
    h("td", { "data-label": "By" }, ACTORS[event.actor] ?? event.actor),
    h("td", { "data-label": text ? "Details" : null, class: "detail-text" }, text),
  );
}

// The event's detail as short text: a file name and size where there is one, else its fields.
function describe(detail) {
  if (!detail || typeof detail !== "object") return "";
  const parts = [];
  for (const [name, value] of Object.entries(detail)) {
    if (value === null || value === undefined || typeof value === "object") continue;
    if (name === "size_bytes" && typeof value === "number") parts.push(formatBytes(value));
    else if (name === "expires_at") parts.push(`expires ${formatDate(value)}`);
    else if (name === "password") parts.push(value ? "with password" : "no password");
    else parts.push(`${name.replaceAll("_", " ")}: ${value}`);
  }
  return parts.join(" · ");
}
