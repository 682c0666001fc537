// A modal confirmation for actions that cannot be undone: resolves true when the user confirms,
// false on Cancel or Escape. Focus goes back to the control that opened it.
import { h } from "./dom.js";

let dialogs = 0;

export function confirmAction({ title, message, confirmLabel, danger = true }) {
  const opener = document.activeElement;
  const titleId = `confirm-title-${(dialogs += 1)}`;
  const dialog = h(
    "dialog",
    { class: "confirm", "aria-labelledby": titleId },
    h("h2", { id: titleId }, title),
    h("p", {}, message),
    h(
      "form",
      { method: "dialog", class: "row" },
      h("button", { value: "cancel", class: "secondary", autofocus: true }, "Cancel"),
      h("button", { value: "confirm", class: danger ? "danger" : null }, confirmLabel),
    ),
  );
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const confirmed = dialog.returnValue === "confirm";
        dialog.remove();
        if (opener?.isConnected) opener.focus();
        resolve(confirmed);
      },
      { once: true },
    );
    document.body.append(dialog);
    dialog.showModal();
  });
}
