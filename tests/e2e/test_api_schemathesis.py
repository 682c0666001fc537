"""Property-based contract test: schemathesis generates requests from the OpenAPI document and
checks that the API answers none of them with a 5xx or with a response the document does not
describe."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api_client import ADMIN_TOKEN
from edgefiles.api.openapi import OPENAPI
from runtime_harness import Runtime

pytestmark = pytest.mark.e2e


@schemathesis.serializer("application/offset+octet-stream")
def offset_octet_stream(ctx: object, value: object) -> bytes:
    """tus bodies are bytes, as application/octet-stream's."""
    return value if isinstance(value, bytes) else str(value).encode()


schema = schemathesis.openapi.from_dict(OPENAPI)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_key(edgefiles: Runtime) -> str:
    response = edgefiles.client.post(
        "/api/admin/keys", json={"user_id": "fuzzer"}, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    response.raise_for_status()
    return response.json()["key"]


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case, edgefiles: Runtime, api_key: str) -> None:
    headers = {"authorization": f"Bearer {api_key}"}
    if case.path.startswith("/api/admin"):
        headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    case.call_and_validate(base_url=edgefiles.url, headers=headers, checks=CHECKS, timeout=30)
