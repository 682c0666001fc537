"""Which Workers AI model does each job, and what an operator is told when one is refused.

Each model is a var, so an operator switches one without a code change. The defaults were
checked against Workers AI's catalog (cloudflare-docs `src/content/workers-ai-models/`, the
2026-05-08 deprecation changelog) on 2026-11-27:
- summaries: llama-3.1-8b-instruct-fast. Its sibling llama-3.1-8b-instruct was retired on
  2026-05-30; the -fast variant stays, with the same `{prompt|messages} -> {response}` schema.
- embeddings: bge-base-en-v1.5 (768 dimensions), current.
- labels: resnet-50, current.
- descriptions: llava-1.5-7b-hf, which takes the image as a byte array, like resnet. The usual
  choice, llama-3.2-11b-vision-instruct, answers 5016 until the account sends `{"prompt":
  "agree"}`: that accepts Meta's licence and states that the account holder is not domiciled in
  the EU, a statement only the operator can make, so no code here makes it (README, "Models").
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from edgefiles.domain.processing import PermanentError

DEFAULT_MODELS = {
    "SUMMARY_MODEL": "@cf/meta/llama-3.1-8b-instruct-fast",
    "EMBEDDING_MODEL": "@cf/baai/bge-base-en-v1.5",
    "LABEL_MODEL": "@cf/microsoft/resnet-50",
    "VISION_MODEL": "@cf/llava-hf/llava-1.5-7b-hf",
}
_MODEL_NAME = re.compile(r"@(cf|hf)/[A-Za-z0-9._-]{1,64}/[A-Za-z0-9._-]{1,128}")

# Workers AI's codes for a model that cannot be used as configured (workers-ai/platform/errors):
# 5007 no such model, 5016 licence not accepted, 5028 retired, 3042 invalid model name. The code
# leads the message ("AiError: 5028: ..."; workerd src/cloudflare/internal/ai-api.ts), so only a
# leading code counts: a number elsewhere in the text (a duration, an id) is not one of these.
_REFUSED_MODEL = re.compile(r"^(?:\w*Error: )?(5007|5016|5028|3042):")


class ModelUnavailable(PermanentError):
    """Workers AI refuses the configured model itself: retrying cannot help, the operator can.

    str() is what the file's owner sees; `operator_message` (model, var, Workers AI's words) is
    for the log."""

    def __init__(self, operator_message: str) -> None:
        super().__init__("analysis is unavailable: the AI model this service is configured with was refused")
        self.operator_message = operator_message


@dataclass(frozen=True)
class Models:
    """The model of each job, or why its var names none: a bad var fails only the jobs that use it."""

    summary: str | None
    embedding: str | None
    label: str | None
    vision: str | None
    problems: dict[str, str]

    @classmethod
    def from_vars(cls, read: Callable[[str], str | None]) -> "Models":
        """`read(name)` returns the var's value or None; unset vars take the defaults."""
        chosen: dict[str, str | None] = {}
        problems: dict[str, str] = {}
        for var, default in DEFAULT_MODELS.items():
            value = (read(var) or "").strip() or default
            if _MODEL_NAME.fullmatch(value):
                chosen[var] = value
            else:
                chosen[var] = None
                problems[var] = f"{var} must name a Workers AI model like {default}"
        return cls(
            summary=chosen["SUMMARY_MODEL"],
            embedding=chosen["EMBEDDING_MODEL"],
            label=chosen["LABEL_MODEL"],
            vision=chosen["VISION_MODEL"],
            problems=problems,
        )


def refused_model_message(error_text: str, model: str, var: str) -> str | None:
    """What to tell the operator when Workers AI refuses `model` itself, or None for other errors."""
    found = _REFUSED_MODEL.search(error_text)
    if found is None:
        return None
    if found.group(1) == "5016":
        return (
            f"Workers AI refused {model} until its licence is accepted for the account "
            f"(README, 'Models'), or set {var} to a model without a licence gate"
        )
    detail = error_text.strip().splitlines()[-1][:200] if error_text.strip() else found.group(1)
    return f"Workers AI refused {model} ({detail}): set {var} to a current model from the Workers AI catalog"
