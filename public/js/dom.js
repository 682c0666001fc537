// Small DOM helpers: elements are built with h() so user data only ever becomes text nodes or
// attribute values, never HTML.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

const UNITS = ["B", "KB", "MB", "GB", "TB"];

// Decimal units (1 KB = 1000 B), as the deployment's limits and quotas are configured.
export function formatBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export function formatCount(n) {
  return Number(n).toLocaleString("en");
}

// "3 files", "1 file".
export function plural(n, noun) {
  return `${formatCount(n)} ${noun}${n === 1 ? "" : "s"}`;
}

export function formatDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

// A form control under its label (`id` is the control's id).
export function labelled(id, text, control, ...extra) {
  return h("div", { class: "field" }, h("label", { for: id }, text), control, ...extra);
}

export function statusBadge(status) {
  return h("span", { class: `badge ${status}`, dataset: { status } }, status.replaceAll("_", " "));
}

export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  // A fresh text node after clearing makes screen readers announce repeated messages too.
  requestAnimationFrame(() => {
    region.textContent = message;
  });
}

// Copies to the clipboard; without permission (or a secure context) the field's text is selected
// on focus for a manual copy. Resolves whether the copy happened.
export async function copyText(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard permission (or not a secure context): select the text for a manual copy.
    field.addEventListener("focus", () => field.select(), { once: true });
    return false;
  }
}
