// Search results: the caller's text files ranked by keywords and meaning together (/api/search).
import { getJson } from "../api.js";
import { formatBytes, h, statusBadge } from "../dom.js";

export function renderSearch(main, query, { onError }) {
  let active = true;
  const list = h("ol", { class: "results", id: "search-results", "aria-busy": "true" });
  main.replaceChildren(
    h("section", { class: "card", "aria-labelledby": "search-title" }, h("p", {}, h("a", { href: "#/" }, "← All files")), h("h1", { id: "search-title" }, `Results for “${query}”`), list),
  );
  getJson(`/api/search?${new URLSearchParams({ q: query })}`)
    .then(({ results }) => {
      if (!active) return;
      list.replaceChildren(
        ...(results.length
          ? results.map(({ file, matched, snippet }) =>
              h(
                "li",
                { dataset: { fileId: file.id } },
                h("a", { href: `#/files/${encodeURIComponent(file.id)}` }, file.filename),
                " ",
                statusBadge(file.status),
                h("span", { class: "hint" }, ` ${formatBytes(file.size_bytes)} · ${describeMatch(matched)}`),
                h("p", { class: "snippet" }, snippet),
              ),
            )
          : [h("li", { class: "empty" }, "Nothing matched. Only text files that have finished processing are searchable.")]),
      );
    })
    .catch((error) => active && onError(error))
    .finally(() => list.removeAttribute("aria-busy"));
  return () => {
    active = false;
  };
}

// Which engines found the file: its words (keyword), its meaning (semantic), or both.
function describeMatch(matched) {
  if (matched.includes("keyword") && matched.includes("semantic")) return "matches words and meaning";
  return matched.includes("keyword") ? "matches words" : "matches meaning";
}
