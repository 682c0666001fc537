"""Workers AI models come from vars; a model Workers AI refuses (retired: 5028, licence not
accepted: 5016) fails its files at once, without retries, telling the owner nothing about the
configuration and the operator (in the log) which model and which var. The runtime's AI stand-in
follows Workers AI's catalog (runtime/lib/bindings/workers-ai-catalog.json)."""

import re
from collections.abc import Iterator

import pytest

from api_client import ADMIN_TOKEN, SIGNING_KEY, UserFactory, settled, upload
from runtime_harness import ROOT, Runtime, running

pytestmark = pytest.mark.e2e

RETIRED = "@cf/meta/llama-3.1-8b-instruct"  # deprecated on 2026-05-30
GATED = "@cf/meta/llama-3.2-11b-vision-instruct"  # 5016 until the account agrees to its licence
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture(scope="module")
def refused_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    state = tmp_path_factory.mktemp("refused-models")
    args = [
        f"--var=ADMIN_TOKEN:{ADMIN_TOKEN}",
        f"--var=SIGNING_KEY:{SIGNING_KEY}",
        f"--var=SUMMARY_MODEL:{RETIRED}",
        f"--var=VISION_MODEL:{GATED}",
        "--var=RETRY_BASE_SECONDS:1",
    ]
    with running(ROOT / "wrangler.toml", state, state / "runtime.log", args=args) as runtime:
        yield runtime


@pytest.mark.parametrize(
    ("name", "body", "content_type", "operator_sees"),
    [
        ("notes.txt", b"figures", "text/plain", f"refused {RETIRED} \\(.*5028.*2026-05-30.*set SUMMARY_MODEL"),
        ("photo.png", PNG, "image/png", f"refused {GATED} until its licence is accepted.*set VISION_MODEL"),
    ],
    ids=["retired-summary-model", "licence-gated-vision-model"],
)
def test_a_refused_model_fails_the_file_once_and_tells_only_the_operator(
    refused_models: Runtime, name: str, body: bytes, content_type: str, operator_sees: str
) -> None:
    users = UserFactory(refused_models)
    try:
        user = users.new()
        file = settled(user, upload(user, name, body, content_type).json()["id"])
        assert file["status"] == "failed"
        assert "refused" in file["ai_analysis"]["error"]
        assert "_MODEL" not in file["ai_analysis"]["error"] and "@cf/" not in file["ai_analysis"]["error"]
        assert user.client.get(f"/api/files/{file['id']}/content").content == body  # the file itself is fine
    finally:
        users.close()
    assert re.search(operator_sees, refused_models.log_text())
    # Permanent: one delivery, no retries into the dead-letter queue.
    assert f"file {file['id']} attempt" not in refused_models.log_text()


def test_a_summary_stream_on_a_refused_model_is_a_plain_503(refused_models: Runtime) -> None:
    users = UserFactory(refused_models)
    try:
        user = users.new()
        file = upload(user, "s.txt", b"text to summarise").json()
        response = user.client.get(f"/api/files/{file['id']}/summary", params={"stream": "1"})
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "@cf/" not in response.text and "_MODEL" not in response.text
    finally:
        users.close()
