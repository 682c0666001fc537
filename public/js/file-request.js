// The upload page of a file request (/r/<token>, rendered by the Worker for people who hold the
// URL but no key): each chosen file is sent, one after another, with PUT <this page>/files/<name>;
// the password, when the page asks for one, goes in X-Request-Password. Every file gets a line
// in #sent: "<name> — sent", or the API's problem title and detail. No API key is ever used here.

const form = document.getElementById("send");
const picker = document.getElementById("files");
const password = document.getElementById("password"); // only on protected requests
const sent = document.getElementById("sent");

// The problem's "title: detail" (RFC 9457), else the status line.
async function describeFailure(response) {
  let problem = null;
  try {
    problem = await response.json();
  } catch {
    // not JSON: the status line will have to do
  }
  const title = typeof problem?.title === "string" ? problem.title : response.statusText || `HTTP ${response.status}`;
  const detail = typeof problem?.detail === "string" ? problem.detail : "";
  return detail ? `${title}: ${detail}` : title;
}

async function send(file, secret) {
  const headers = { "content-type": file.type || "application/octet-stream" };
  // A header carries only Latin-1 text: the password goes percent-encoded (the server reads it back).
  if (secret) headers["x-request-password"] = /^[\x20-\x7e]*$/.test(secret) ? secret : encodeURIComponent(secret);
  let response;
  try {
    response = await fetch(`${location.pathname}/files/${encodeURIComponent(file.name)}`, { method: "PUT", body: file, headers });
  } catch {
    return { ok: false, text: "Network error: the service could not be reached" };
  }
  return response.ok ? { ok: true, text: "sent" } : { ok: false, text: await describeFailure(response) };
}

if (form && picker && sent) {
  const button = form.querySelector('button[type="submit"], button:not([type])');
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = [...picker.files];
    if (!files.length) return;
    const secret = password?.value ?? "";
    if (button) button.disabled = true;
    let failures = 0;
    try {
      for (const file of files) {
        const item = document.createElement("li");
        item.textContent = `${file.name} — sending…`;
        sent.append(item);
        const outcome = await send(file, secret);
        item.textContent = `${file.name} — ${outcome.text}`;
        item.className = outcome.ok ? "sent" : "error";
        if (!outcome.ok) failures += 1;
      }
    } finally {
      if (button) button.disabled = false;
    }
    if (!failures) picker.value = ""; // what failed stays chosen, to send again
  });
}
