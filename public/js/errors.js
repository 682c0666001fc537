// The page's one error banner: an API problem's title and detail, or a plain message.
import { h } from "./dom.js";

const banner = () => document.getElementById("error");

export function showError(error) {
  const element = banner();
  const title = error?.title ?? "Something went wrong";
  const detail = error?.title ? error.detail : String(error?.message ?? error ?? "");
  element.replaceChildren(h("strong", {}, title), detail ? h("span", {}, detail) : "");
  element.hidden = false;
}

export function clearError() {
  banner().hidden = true;
  banner().replaceChildren();
}
