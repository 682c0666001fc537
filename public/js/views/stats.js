// The stats panel: totals and a bar chart of uploads by content type (plain elements, so the
// numbers are readable text for screen readers as well as bars).
import { getJson } from "../api.js";
import { formatBytes, formatDate, h } from "../dom.js";

// `known`: stats from a stats.updated event, so no request is needed.
export async function renderStats(panel, known = null) {
  const stats = known ?? (await getJson("/api/stats"));
  const types = Object.entries(stats.by_content_type).sort((a, b) => b[1] - a[1]);
  const most = Math.max(1, ...types.map(([, n]) => n));
  panel.replaceChildren(
    h("h2", { id: "stats-title" }, "Stats"),
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

// Width set through the CSSOM: the page's Content-Security-Policy forbids style attributes.
function bar(fraction) {
  const element = h("div", { class: "bar", "aria-hidden": "true" });
  element.style.width = `${Math.round(100 * fraction)}%`;
  return element;
}
