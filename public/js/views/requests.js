// File requests: upload-only links. Anyone holding one can send files to this account (within
// its limits: how many, how large, which types, optionally behind a password) and sees nothing
// else. Created here, listed with what arrived, copied, and closed.
import { call, getAllItems, getJson, sendJson } from "../api.js";
import { confirmAction } from "../confirm.js";
import { announce, copyText, formatBytes, formatDate, h, labelled, plural, statusBadge } from "../dom.js";

const LIFETIMES = [
  [86400, "1 day"],
  [604800, "7 days"],
  [2592000, "30 days"],
  [7776000, "90 days"],
];
const DEFAULT_LIFETIME = 604800;
const MAX_FILES = 10_000;
const MB = 1000 * 1000;
const RECEIVED_SHOWN = 100;

export function renderRequests(main, { limits, onError }) {
  let active = true;
  const allowedTypes = limits.allowed_content_types;
  const { min, max } = limits.link_lifetime_seconds;

  const label = h("input", { id: "request-label", type: "text", maxlength: 200, autocomplete: "off", placeholder: "e.g. Photos from the trip" });
  const password = h("input", { id: "request-password", type: "password", minlength: 8, maxlength: 256, autocomplete: "new-password", "aria-describedby": "request-password-hint" });
  const expiry = h(
    "select",
    { id: "request-expiry" },
    LIFETIMES.filter(([seconds]) => seconds >= min && seconds <= max).map(([seconds, text]) =>
      h("option", { value: seconds, selected: seconds === DEFAULT_LIFETIME }, text),
    ),
  );
  const maxFiles = h("input", { id: "request-max-files", type: "number", min: 1, max: MAX_FILES, step: 1, inputmode: "numeric" });
  const largest = Math.floor((limits.max_file_size / MB) * 10) / 10;
  const maxSize = h("input", { id: "request-max-size", type: "number", min: 0.1, max: largest, step: 0.1, inputmode: "decimal", "aria-describedby": "request-max-size-hint" });
  const typeBoxes = allowedTypes.map((type, i) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "request-type", value: type, checked: true, id: `request-type-${i}` }), type),
  );
  const submit = h("button", { type: "submit" }, "Create file request");
  const output = h("div", { class: "link-output", hidden: true });
  const list = h("ul", { class: "records", id: "request-list", "aria-label": "Your file requests", "aria-busy": "true" });

  const form = h(
    "form",
    { id: "request-form", onsubmit: create },
    h(
      "div",
      { class: "fields" },
      labelled("request-label", "Label (optional)", label),
      labelled("request-password", "Password (optional)", password, h("span", { class: "hint", id: "request-password-hint" }, "8 characters or more; senders must type it.")),
      labelled("request-expiry", "Open for", expiry),
      labelled("request-max-files", "Most files (optional)", maxFiles),
      labelled(
        "request-max-size",
        "Largest file in MB (optional)",
        maxSize,
        h("span", { class: "hint", id: "request-max-size-hint" }, `At most ${formatBytes(limits.max_file_size)}.`),
      ),
    ),
    h("fieldset", { class: "types" }, h("legend", {}, "Accepted types"), typeBoxes),
    submit,
  );

  main.replaceChildren(
    h(
      "div",
      {},
      h(
        "section",
        { class: "card", "aria-labelledby": "requests-title" },
        h("p", {}, h("a", { href: "#/" }, "← All files")),
        h("h1", { id: "requests-title" }, "File requests"),
        h("p", { class: "hint" }, "A file request is a link others use to send you files. They cannot see your files, or what anyone else sent."),
        form,
        output,
      ),
      h("section", { class: "card", "aria-labelledby": "request-list-title" }, h("h2", { id: "request-list-title" }, "Your file requests"), h("p", { class: "hint" }, "Closed requests are no longer listed; what they received stays in your files."), list),
    ),
  );

  async function create(event) {
    event.preventDefault();
    const types = typeBoxes.map((box) => box.querySelector("input")).filter((box) => box.checked).map((box) => box.value);
    if (!types.length) {
      onError({ title: "Choose at least one type", detail: "A file request must accept at least one type of file." });
      typeBoxes[0]?.querySelector("input").focus();
      return;
    }
    const body = { expires_in: Number(expiry.value) };
    if (label.value.trim()) body.label = label.value.trim();
    if (password.value) body.password = password.value;
    if (maxFiles.value) body.max_files = Number(maxFiles.value);
    if (maxSize.value) body.max_file_size = Math.min(limits.max_file_size, Math.round(Number(maxSize.value) * MB));
    if (types.length < allowedTypes.length) body.allowed_types = types;
    submit.disabled = true;
    try {
      const request = await sendJson("/api/file-requests", "POST", body);
      const url = new URL(request.url, location.origin).href;
      const field = h("input", { id: "request-link", type: "text", readonly: true, value: url, "aria-label": "File request link" });
      const copied = await copyText(url, field);
      output.replaceChildren(
        field,
        h("span", { class: "hint", id: "request-note" }, `${copied ? "Copied. " : ""}Open until ${formatDate(request.expires_at)}.`),
      );
      output.hidden = false;
      label.value = password.value = maxFiles.value = maxSize.value = "";
      announce(copied ? "File request created and copied" : "File request created");
      await load();
    } catch (error) {
      onError(error);
    } finally {
      submit.disabled = false;
    }
  }

  async function load() {
    list.setAttribute("aria-busy", "true");
    try {
      const requests = await getAllItems("/api/file-requests");
      if (!active) return;
      list.replaceChildren(...(requests.length ? requests.map(item) : [h("li", { class: "empty" }, "No file requests yet.")]));
    } catch (error) {
      if (active) onError(error);
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  function item(request) {
    const name = request.label ?? `Request of ${formatDate(request.created_at)}`;
    const url = new URL(request.url, location.origin).href;
    const field = h("input", { type: "text", readonly: true, value: url, "aria-label": `Link of ${name}` });
    const received = request.files_received ?? "?";
    const facts = [
      request.max_files ? `${received} of ${plural(request.max_files, "file")} received` : `${received} received`,
      `up to ${formatBytes(request.max_file_size)} each`,
      request.allowed_types.length === allowedTypes.length ? "any accepted type" : request.allowed_types.join(", "),
      `${request.state === "expired" ? "closed" : "open until"} ${formatDate(request.expires_at)}`,
    ];
    const copy = h(
      "button",
      {
        type: "button",
        class: "secondary",
        "aria-label": `Copy link of ${name}`,
        onclick: async () => announce((await copyText(url, field)) ? "Link copied" : "Select the link to copy it"),
      },
      "Copy",
    );
    const close = h(
      "button",
      {
        type: "button",
        class: "danger",
        "aria-label": `Close ${name}`,
        onclick: async () => {
          const confirmed = await confirmAction({
            title: "Close this file request?",
            message: `“${name}” stops accepting files at once. Files already received stay in your files.`,
            confirmLabel: "Close request",
          });
          if (!confirmed) return;
          try {
            await call(`/api/file-requests/${encodeURIComponent(request.id)}`, { method: "DELETE" });
            announce(`${name} closed`);
            await load();
          } catch (error) {
            onError(error);
          }
        },
      },
      "Close",
    );
    return h(
      "li",
      { class: "record", dataset: { requestId: request.id, state: request.state } },
      h(
        "div",
        { class: "row" },
        h("strong", { class: "record-name" }, name),
        statusBadge(request.state),
        request.password_protected ? h("span", { class: "tag" }, "password") : null,
      ),
      h("p", { class: "hint record-facts" }, facts.join(" · ")),
      request.state === "revoked" ? null : h("div", { class: "row link-actions" }, field, copy, request.state === "active" ? close : null),
      receivedFiles(request, name),
    );
  }

  // The files that came through a request, loaded when the disclosure is opened.
  function receivedFiles(request, name) {
    const files = h("ul", { class: "received", "aria-label": `Files received through ${name}` });
    const details = h("details", { class: "received-files" }, h("summary", {}, "Files received"), files);
    details.addEventListener("toggle", async () => {
      if (!details.open) return;
      files.setAttribute("aria-busy", "true");
      try {
        const listing = await getJson(`${request.files}&limit=${RECEIVED_SHOWN}`);
        if (!active) return;
        const note = listing.next_cursor ? [h("li", { class: "hint" }, `Showing the latest ${RECEIVED_SHOWN}.`)] : [];
        files.replaceChildren(
          ...(listing.items.length
            ? listing.items.map((file) =>
                h(
                  "li",
                  { dataset: { fileId: file.id } },
                  h("a", { href: `#/files/${encodeURIComponent(file.id)}` }, file.filename),
                  " ",
                  statusBadge(file.status),
                  h("span", { class: "hint" }, ` ${formatBytes(file.size_bytes)} · ${formatDate(file.created_at)}`),
                ),
              )
            : [h("li", { class: "empty" }, "Nothing received yet.")]),
          ...note,
        );
      } catch (error) {
        if (active) onError(error);
      } finally {
        files.removeAttribute("aria-busy");
      }
    });
    return details;
  }

  load();
  return () => {
    active = false;
  };
}
