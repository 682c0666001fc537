// The stats panel: usage against the quota, totals and a bar chart of uploads by content type
// (plain elements, so the numbers are readable text for screen readers as well as bars).
import { getJson } from "../api.js";
import { formatBytes, formatCount, formatDate, h } from "../dom.js";

// The quota each panel last loaded: stats.updated events carry the totals but not the quota.
const quotas = new WeakMap();

// `known`: stats from a stats.updated event, so no request is needed.
export async function renderStats(panel, known = null) {
  const stats = known ?? (await getJson("/api/stats"));
  const quota = stats.quota ?? withTotals(quotas.get(panel), stats);
  if (quota) quotas.set(panel, quota);
  const types = Object.entries(stats.by_content_type).sort((a, b) => b[1] - a[1]);
  const most = Math.max(1, ...types.map(([, n]) => n));
  panel.replaceChildren(
    h("h2", { id: "stats-title" }, "Stats"),
    ...(quota ? [quotaBlock(quota)] : []),
    h(
      "dl",
      {},
      h("dt", {}, "Uploads"),
      h("dd", { id: "stat-uploads" }, String(stats.upload_count)),
      h("dt", {}, "Stored"),
      h("dd", { id: "stat-bytes" }, formatBytes(stats.total_bytes)),
      h("dt", {}, "Last upload"),
      h("dd", {}, stats.last_upload_at ? formatDate(stats.last_upload_at) : "never"),
    ),
    types.length
      ? h(
          "ul",
          { class: "chart", "aria-label": "Uploads by content type" },
          types.map(([type, n]) =>
            h(
              "li",
              {},
              h("div", { class: "bar-label" }, h("span", {}, type), h("span", {}, String(n))),
              bar(n / most),
            ),
          ),
        )
      : h("p", { class: "empty" }, "Nothing uploaded yet."),
  );
}

// The quota's usage is the committed totals (trash included) plus what uploads in progress hold.
function withTotals(quota, stats) {
  if (!quota) return null;
  const usedBytes = stats.total_bytes;
  const usedFiles = stats.upload_count;
  return {
    ...quota,
    used_bytes: usedBytes,
    used_files: usedFiles,
    remaining_bytes: Math.max(0, quota.quota_bytes - usedBytes - quota.reserved_bytes),
    remaining_files: Math.max(0, quota.quota_files - usedFiles - quota.reserved_files),
  };
}

function quotaBlock(quota) {
  const bytes = quota.used_bytes + quota.reserved_bytes;
  const files = quota.used_files + quota.reserved_files;
  const reserved = quota.reserved_bytes > 0 ? ` (${formatBytes(quota.reserved_bytes)} held by uploads in progress)` : "";
  return h(
    "section",
    { class: "quota", "aria-labelledby": "quota-title" },
    h("h3", { id: "quota-title" }, "Storage"),
    h("p", { id: "quota-bytes-text" }, `${formatBytes(quota.used_bytes)} of ${formatBytes(quota.quota_bytes)} used${reserved}`),
    gauge("quota-bytes", bytes, quota.quota_bytes, "Storage used", "quota-bytes-text"),
    h("p", { id: "quota-files-text" }, `${formatCount(quota.used_files)} of ${formatCount(quota.quota_files)} files`),
    gauge("quota-files", files, quota.quota_files, "Files stored", "quota-files-text"),
    h("p", { class: "hint" }, "Files in the trash count until they are deleted for good."),
  );
}

function gauge(id, value, max, label, describedBy) {
  return h("meter", {
    id,
    min: 0,
    max: Math.max(1, max),
    value: Math.min(value, Math.max(1, max)),
    high: Math.max(1, max) * 0.9,
    optimum: 0,
    "aria-label": label,
    "aria-describedby": describedBy,
  });
}

// Width set through the CSSOM: the page's Content-Security-Policy forbids style attributes.
function bar(fraction) {
  const element = h("div", { class: "bar", "aria-hidden": "true" });
  element.style.width = `${Math.round(100 * fraction)}%`;
  return element;
}
