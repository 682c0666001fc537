"""Model choice from vars, and what an operator is told when Workers AI refuses a model."""

import pytest

from edgefiles.domain.models import DEFAULT_MODELS, Models, refused_model_message


def test_unset_vars_take_the_defaults_and_set_ones_win() -> None:
    models = Models.from_vars({"SUMMARY_MODEL": "@cf/zai-org/glm-4.7-flash", "LABEL_MODEL": "  "}.get)
    assert models.summary == "@cf/zai-org/glm-4.7-flash"
    assert models.label == DEFAULT_MODELS["LABEL_MODEL"]
    assert models.embedding == DEFAULT_MODELS["EMBEDDING_MODEL"]


@pytest.mark.parametrize(
    "value",
    ["llama", "@cf/meta", "@xx/meta/llama", "@cf/meta/llama 3", "@cf/meta/" + "x" * 200, "@cf/mëta/llama"],
    ids=["bare", "no-model", "bad-prefix", "space", "too-long", "non-ascii"],
)
def test_a_var_that_names_no_model_fails_only_its_own_job(value: str) -> None:
    models = Models.from_vars({"VISION_MODEL": value}.get)
    assert models.vision is None
    example = DEFAULT_MODELS["VISION_MODEL"]
    assert models.problems == {"VISION_MODEL": f"VISION_MODEL must name a Workers AI model like {example}"}
    assert models.label == DEFAULT_MODELS["LABEL_MODEL"]  # the image's labels still work


def test_retired_and_unknown_models_name_the_model_and_the_var() -> None:
    retired = "AiError: 5028: This model was deprecated on 2026-05-30. Please use an alternative model."
    message = refused_model_message(retired, "@cf/meta/llama-3.1-8b-instruct", "SUMMARY_MODEL")
    assert message == (
        f"Workers AI refused @cf/meta/llama-3.1-8b-instruct ({retired}): "
        "set SUMMARY_MODEL to a current model from the Workers AI catalog"
    )
    unknown = refused_model_message("AiError: 5007: No such model @cf/x/y or task", "@cf/x/y", "LABEL_MODEL")
    assert unknown is not None and "set LABEL_MODEL" in unknown


def test_a_licence_gate_says_how_to_pass_it() -> None:
    message = refused_model_message("AiError: 5016: Prior to using this model ...", "@cf/meta/v", "VISION_MODEL")
    assert message is not None
    assert "licence is accepted" in message and "VISION_MODEL" in message


@pytest.mark.parametrize(
    "text",
    [
        "AiError: 3040: Capacity temporarily exceeded",
        "network lost",
        "50280 bytes",
        "AiError: 3040: upstream took 5028 ms",  # a refused model's code must lead the message
        "request 5016: timed out",
    ],
)
def test_other_errors_are_not_the_models_fault(text: str) -> None:
    assert refused_model_message(text, "@cf/a/b", "SUMMARY_MODEL") is None
