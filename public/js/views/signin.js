// The sign-in form: an API key pasted by the user, checked against the API before it is kept.
import { h } from "../dom.js";

export function renderSignIn(main, { signIn, onError }) {
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "api-key-hint",
  });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        try {
          await signIn(input.value.trim());
        } catch (error) {
          onError(error);
          input.focus();
        } finally {
          button.disabled = false;
        }
      },
    },
    h("label", { for: "api-key" }, "API key"),
    input,
    h(
      "p",
      { id: "api-key-hint", class: "hint" },
      "Paste the key you were given (ef_…). It is kept in this tab only and is sent in a header, never in a URL.",
    ),
    button,
  );
  main.replaceChildren(h("section", { class: "card signin", "aria-labelledby": "signin-title" }, h("h1", { id: "signin-title" }, "Sign in to edgefiles"), form));
  input.focus();
}
