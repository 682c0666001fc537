// The app's shell: sign-in state, the hash router and the header's search box. Routes live in the
// fragment (#/files/ID) so every URL is served by the one static index.html and never carries the
// API key.
import { ApiError, getJson, session } from "./api.js";
import { clearError, showError } from "./errors.js";
import { onLiveState, startLive, stopLive } from "./live.js";
import { renderActivity } from "./views/activity.js";
import { renderDetail } from "./views/detail.js";
import { forgetUploads, renderFiles } from "./views/files.js";
import { renderRequests } from "./views/requests.js";
import { renderSearch } from "./views/search.js";
import { renderSignIn } from "./views/signin.js";
import { renderTrash } from "./views/trash.js";

const main = document.getElementById("main");
const searchForm = document.getElementById("search-form");
const searchInput = document.getElementById("search-input");
const signOutButton = document.getElementById("sign-out");
const liveStatus = document.getElementById("live-status");
const nav = document.getElementById("main-nav");
// The views reached from the main navigation, by route.
const SECTIONS = { "/trash": renderTrash, "/requests": renderRequests, "/activity": renderActivity };

let limits = null;
let leaveView = () => {};
// Each navigation's number: one that finds a newer one started while it waited renders nothing.
let navigation = 0;

function parseRoute() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query);
  const folder = path.match(/^\/folders\/([^/]+)$/);
  if (folder) {
    try {
      return { view: "files", folderId: decodeURIComponent(folder[1]) };
    } catch {
      return { view: "files" };
    }
  }
  const file = path.match(/^\/files\/([^/]+)$/);
  if (file) {
    try {
      return { view: "detail", fileId: decodeURIComponent(file[1]) };
    } catch {
      return { view: "files" }; // a mangled link: the list is the best answer
    }
  }
  if (path === "/search") return { view: "search", query: params.get("q") ?? "" };
  if (SECTIONS[path]) return { view: path.slice(1) };
  return { view: "files" };
}

function setSignedIn(signedIn) {
  searchForm.hidden = !signedIn;
  nav.hidden = !signedIn;
  signOutButton.hidden = !signedIn;
  liveStatus.hidden = !signedIn;
  // One event stream per signed-in tab, opened once and kept across views.
  if (signedIn && liveStatus.dataset.state === "off") startLive();
  if (!signedIn && liveStatus.dataset.state !== "off") stopLive();
}

onLiveState((state) => {
  liveStatus.dataset.state = state;
  liveStatus.textContent = state === "live" ? "Live" : state === "connecting" ? "Connecting…" : state === "offline" ? "Offline" : "";
  liveStatus.title = state === "live" ? "Changes appear as they happen" : "Changes are checked every second until the connection is back";
});

// Any 401 means the key is no longer valid (revoked, or mistyped): back to the sign-in form.
function onError(error) {
  if (error instanceof ApiError && error.status === 401) {
    signOut("Your API key was not accepted. Sign in again.");
    return;
  }
  showError(error);
}

async function signIn(key) {
  session.signIn(key);
  try {
    limits = await getJson("/api/limits");
  } catch (error) {
    session.signOut();
    throw error;
  }
  setSignedIn(true);
  clearError();
  route();
}

function signOut(message) {
  session.signOut();
  forgetUploads();
  limits = null;
  setSignedIn(false);
  route();
  if (message) showError({ title: "Signed out", detail: message });
}

async function route() {
  const current = ++navigation;
  leaveView();
  leaveView = () => {};
  clearError();
  if (!session.key) {
    setSignedIn(false);
    leaveView = renderSignIn(main, { signIn, onError: showError }) ?? leaveView;
    return;
  }
  try {
    limits ??= await getJson("/api/limits");
  } catch (error) {
    if (current === navigation) onError(error);
    return;
  }
  if (current !== navigation) return;
  setSignedIn(true);
  const target = parseRoute();
  const context = { limits, onError };
  markCurrent(target.view);
  if (target.view === "detail") leaveView = renderDetail(main, target.fileId, context);
  else if (target.view === "search") {
    searchInput.value = target.query;
    leaveView = renderSearch(main, target.query, context);
  } else if (SECTIONS[`/${target.view}`]) leaveView = SECTIONS[`/${target.view}`](main, context);
  else leaveView = renderFiles(main, { ...context, folderId: target.folderId ?? "root" });
}

// The navigation says where the page is (a file's page belongs to Files).
function markCurrent(view) {
  const section = view === "detail" ? "files" : view;
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.view === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

searchForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const query = searchInput.value.trim();
  if (query) location.hash = `#/search?q=${encodeURIComponent(query)}`;
});
signOutButton.addEventListener("click", () => signOut());
window.addEventListener("hashchange", () => {
  route();
  main.focus();
});
route();
