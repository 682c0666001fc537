// The `_headers` file of a static-assets directory, as Cloudflare applies it to asset responses
// (never to the Worker's own): a URL pattern on its own line, then indented `Name: value` lines
// to attach or `! Name` lines to detach. Patterns are paths or absolute URLs, with `*` (a splat,
// any run of characters) and `:name` (one segment) placeholders that values may reuse. When several
// rules set the same header, the values are joined with ", ".

export class HeadersFileError extends Error {}

function patternToRegExp(pattern) {
  let source = "";
  for (const token of pattern.split(/(\*|:[A-Za-z]\w*)/)) {
    if (token === "*") source += "(?<splat>.*)";
    else if (token.startsWith(":") && token.length > 1) source += `(?<${token.slice(1)}>[^/]+)`;
    else source += token.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

export function parseHeadersFile(text) {
  const rules = [];
  let rule = null;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trimEnd();
    if (!line.trim() || line.trim().startsWith("#")) return;
    if (!/^\s/.test(line)) {
      rule = { pattern: line, regexp: patternToRegExp(line), attach: [], detach: [] };
      rules.push(rule);
      return;
    }
    if (!rule) throw new HeadersFileError(`_headers line ${index + 1}: a header before any URL pattern`);
    const entry = line.trim();
    if (entry.startsWith("!")) {
      rule.detach.push(entry.slice(1).trim().toLowerCase());
      return;
    }
    const colon = entry.indexOf(":");
    if (colon <= 0) throw new HeadersFileError(`_headers line ${index + 1}: expected "Name: value"`);
    rule.attach.push([entry.slice(0, colon).trim().toLowerCase(), entry.slice(colon + 1).trim()]);
  });
  return rules;
}

// A copy of `response` with the headers of every rule that matches `url`.
export function applyHeaderRules(rules, url, response) {
  const attach = new Map();
  const detach = new Set();
  for (const rule of rules) {
    const subject = rule.pattern.startsWith("http") ? `${url.protocol}//${url.host}${url.pathname}` : url.pathname;
    const match = rule.regexp.exec(subject);
    if (!match) continue;
    const fill = (value) => value.replace(/:([A-Za-z]\w*)/g, (whole, name) => match.groups?.[name] ?? whole);
    for (const [name, value] of rule.attach) {
      const filled = fill(value);
      attach.set(name, attach.has(name) ? `${attach.get(name)}, ${filled}` : filled);
    }
    for (const name of rule.detach) detach.add(name);
  }
  if (!attach.size && !detach.size) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of attach) headers.set(name, value);
  for (const name of detach) headers.delete(name);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
