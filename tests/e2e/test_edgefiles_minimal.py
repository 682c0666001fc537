"""The first cut of edgefiles on the local runtime: one route per binding, end to end."""

import uuid

import pytest

from runtime_harness import Runtime, wait_for

pytestmark = pytest.mark.e2e


def upload(edgefiles: Runtime, name: str, body: bytes, content_type: str = "text/plain"):
    return edgefiles.client.put(f"/api/files/{name}", content=body, headers={"content-type": content_type})


def test_health(edgefiles: Runtime) -> None:
    assert edgefiles.client.get("/health").json() == {"status": "ok", "environment": "development"}


def test_upload_is_stored_cached_counted_and_processed(edgefiles: Runtime) -> None:
    body = f"edgefiles keeps files at the edge {uuid.uuid4()}".encode()
    stats_before = edgefiles.client.get("/api/stats").json()
    created = upload(edgefiles, "notes.txt", body)
    assert created.status_code == 201, created.text
    file = created.json()
    assert file["status"] == "pending"
    assert created.headers["location"] == f"/api/files/{file['id']}"

    calls = {(c["binding"], c["method"]) for c in edgefiles.trace(created)["calls"]}
    assert {("STORAGE", "put"), ("DB", "run"), ("CACHE", "put"), ("QUEUE", "send")} <= calls
    assert ("USER_STATS", "record_upload") in calls

    content = edgefiles.client.get(file["links"]["content"])
    assert content.content == body
    assert content.headers["content-type"] == "text/plain"

    stats = edgefiles.client.get("/api/stats").json()
    assert stats["upload_count"] == stats_before["upload_count"] + 1
    assert stats["total_bytes"] == stats_before["total_bytes"] + len(body)

    done = wait_for(
        lambda: (r := edgefiles.client.get(file["links"]["self"]).json())["status"] == "completed" and r,
        what="the queue consumer to complete the file",
        timeout=30,
    )
    assert done["ai_analysis"]["kind"] == "text"
    assert "edgefiles keeps files" in done["ai_analysis"]["summary"]


def test_cached_metadata_read_hits_kv_only(edgefiles: Runtime) -> None:
    file = upload(edgefiles, "cached.txt", b"cache me").json()
    response = edgefiles.client.get(file["links"]["self"])
    assert response.status_code == 200
    calls = [(c["binding"], c["method"]) for c in edgefiles.trace(response)["calls"]]
    assert calls == [("CACHE", "get")]


def test_unknown_file_is_problem_details(edgefiles: Runtime) -> None:
    response = edgefiles.client.get(f"/api/files/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not Found"


def test_rejected_content_type_stores_nothing(edgefiles: Runtime) -> None:
    response = upload(edgefiles, "evil.exe", b"MZ", content_type="application/x-msdownload")
    assert response.status_code == 415
    assert response.json()["status"] == 415
    assert edgefiles.trace(response)["calls"] == []


def test_upload_without_content_length_is_refused(edgefiles: Runtime) -> None:
    response = edgefiles.client.put(
        "/api/files/stream.txt", content=iter([b"chunked", b" body"]), headers={"content-type": "text/plain"}
    )
    assert response.status_code == 411
    assert edgefiles.trace(response)["calls"] == []


def test_failed_r2_put_writes_nothing_and_is_503(edgefiles: Runtime) -> None:
    edgefiles.arm_fault("STORAGE.put")
    try:
        response = upload(edgefiles, "fails.txt", b"never stored")
    finally:
        edgefiles.clear_faults()
    assert response.status_code == 503
    assert "injected" not in response.text
    calls = [(c["binding"], c["method"]) for c in edgefiles.trace(response)["calls"]]
    assert calls == [("STORAGE", "put")]
