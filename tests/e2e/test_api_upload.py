"""Uploads: validation before anything is stored, the failure story of each binding step."""

import hashlib

import pytest

from api_client import MAX_FILE_SIZE, UserFactory, calls, upload
from invariants import consumer_idle
from runtime_harness import Runtime, wait_for

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def stored_nothing(user) -> bool:
    """No file, nothing counted, and nothing left reserved of the quota."""
    stats = user.client.get("/api/stats").json()
    return (
        user.client.get("/api/files").json()["items"] == []
        and stats["upload_count"] == 0
        and stats["quota"]["reserved_bytes"] == 0
    )


def test_raw_upload_is_stored_then_processed(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    body = b"edgefiles keeps your notes at the edge"
    response = upload(user, "notes.txt", body, **{"x-description": "my%20notes"})
    assert response.status_code == 201, response.text
    file = response.json()
    assert response.headers["location"] == f"/api/files/{file['id']}"
    assert {k: file[k] for k in ("filename", "content_type", "size_bytes", "status", "description")} == {
        "filename": "notes.txt",
        "content_type": "text/plain",
        "size_bytes": len(body),
        "status": "pending",
        "description": "my notes",
    }
    assert file["links"] == {"self": f"/api/files/{file['id']}", "content": f"/api/files/{file['id']}/content"}
    trips = calls(edgefiles, response)
    # The key; the user's rate limit; the quota reserved (in UserStats, its marker in D1, in
    # parallel); the bytes; the row (with the marker's delete, one batch); then the job and the
    # count, in parallel.
    assert trips[:2] == [("DB", "first"), ("UPLOAD_LIMITER", "limit")]
    assert sorted(trips[2:4]) == [("DB", "run"), ("USER_STATS", "reserve")]
    assert trips[4:6] == [("STORAGE", "put"), ("DB", "batch")]
    assert sorted(trips[6:]) == [("QUEUE", "send"), ("USER_STATS", "record_upload")]
    assert user.client.get(file["links"]["content"]).content == body
    done = wait_for(
        lambda: (f := user.client.get(file["links"]["self"]).json())["status"] == "completed" and f,
        what="the consumer to complete the file",
        timeout=30,
    )
    assert "edgefiles keeps your notes" in done["ai_analysis"]["summary"]


def test_form_upload_is_parsed_by_js_and_stored(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    content = b"a,b\n1,2\n" * 10_000  # 80 KB
    response = user.client.post(
        "/api/files", files={"file": ("table.csv", content, "text/csv")}, data={"description": "numbers"}
    )
    assert response.status_code == 201, response.text
    file = response.json()
    assert (file["filename"], file["content_type"], file["size_bytes"]) == ("table.csv", "text/csv", len(content))
    assert file["description"] == "numbers"
    assert user.client.get(file["links"]["content"]).content == content


def test_object_key_and_metadata_come_from_the_server(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "..%2F..%2Fetc%2Fpasswd", b"root:x").json()
    assert file["filename"] == "passwd"
    content = user.client.get(file["links"]["content"])
    assert content.headers["content-disposition"] == "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"


def test_checksum_is_verified_and_kept(users: UserFactory) -> None:
    user = users.new()
    body = b"checked bytes"
    good = upload(user, "c.txt", body, **{"x-checksum-sha256": hashlib.sha256(body).hexdigest()})
    assert good.status_code == 201
    assert good.json()["sha256"] == hashlib.sha256(body).hexdigest()
    bad = upload(user, "c.txt", body, **{"x-checksum-sha256": hashlib.sha256(b"other").hexdigest()})
    assert bad.status_code == 400
    assert len(user.client.get("/api/files").json()["items"]) == 1


@pytest.mark.parametrize(
    ("name", "body", "content_type", "headers", "status"),
    [
        ("big.bin", b"x" * (MAX_FILE_SIZE + 1), "application/octet-stream", {}, 413),
        ("evil.exe", b"MZ", "application/x-msdownload", {}, 415),
        ("fake.png", b"not a png at all", "image/png", {}, 415),
        ("fake.pdf", PNG, "application/pdf", {}, 415),
        ("bin.txt", b"\x00\x01\x02binary", "text/plain", {}, 415),
        ("bad.json", b"<html>", "application/json", {}, 415),
        ("%00%01", b"x", "text/plain", {}, 400),
        ("long.txt", b"x", "text/plain", {"x-description": "d" * 1001}, 400),
        ("sum.txt", b"x", "text/plain", {"x-checksum-sha256": "not-hex"}, 400),
    ],
    ids=[
        "too-large",
        "type-not-allowed",
        "png-mismatch",
        "pdf-mismatch",
        "text-with-nul",
        "json-mismatch",
        "filename-empty",
        "description-too-long",
        "checksum-malformed",
    ],
)
def test_bad_uploads_are_refused_before_anything_is_stored(
    edgefiles: Runtime, users: UserFactory, name: str, body: bytes, content_type: str, headers: dict, status: int
) -> None:
    user = users.new()
    response = upload(user, name, body, content_type, **headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert ("STORAGE", "put") not in calls(edgefiles, response)
    assert stored_nothing(user)


def test_a_matching_png_is_accepted(users: UserFactory) -> None:
    assert upload(users.new(), "pixel.png", PNG, "image/png").status_code == 201


def test_upload_without_content_length_is_411(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    response = user.client.put("/api/files/s.txt", content=iter([b"chunked"]), headers={"content-type": "text/plain"})
    assert response.status_code == 411
    assert stored_nothing(user)


def test_form_upload_validation(users: UserFactory) -> None:
    user = users.new()
    no_file = user.client.post("/api/files", data={"description": "no file"}, files={"other": ("x.txt", b"x")})
    assert no_file.status_code == 400
    not_form = user.client.post("/api/files", content=b"{}", headers={"content-type": "application/json"})
    assert not_form.status_code == 415
    mismatch = user.client.post("/api/files", files={"file": ("f.png", b"text", "image/png")})
    assert mismatch.status_code == 415
    assert stored_nothing(user)


def test_failed_r2_put_stores_nothing_and_is_503(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    with edgefiles.fault("STORAGE.put"):
        response = upload(user, "f.txt", b"never stored")
    assert response.status_code == 503
    assert "injected" not in response.text
    # After the failed put, only the reservation's release (in UserStats, then its marker).
    assert calls(edgefiles, response)[-3:] == [("STORAGE", "put"), ("USER_STATS", "release"), ("DB", "run")]
    assert stored_nothing(user)


def test_failed_d1_insert_deletes_the_object_and_is_503(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    # The fault is taken by the next DB.batch anywhere: the queue consumer writes its results
    # with one, so it must have nothing left to write (no file of an earlier test pending).
    wait_for(lambda: consumer_idle(edgefiles.persist_to), timeout=60, what="the consumer to be idle")
    with edgefiles.fault("DB.batch"):
        response = upload(user, "f.txt", b"rolled back")
    assert response.status_code == 503
    trace = edgefiles.trace(response)["calls"]
    steps = [(c["binding"], c["method"], c["ok"]) for c in trace if not c["sync"]]
    assert steps[-5:] == [
        ("STORAGE", "put", True),
        ("DB", "batch", False),
        ("STORAGE", "delete", True),
        ("USER_STATS", "release", True),
        ("DB", "run", True),
    ]
    assert stored_nothing(user)


@pytest.mark.parametrize("target", ["QUEUE.send", "USER_STATS.record_upload"])
def test_failures_after_the_row_is_written_still_succeed(edgefiles: Runtime, users: UserFactory, target: str) -> None:
    user = users.new()
    with edgefiles.fault(target):
        response = upload(user, "f.txt", b"kept")
    assert response.status_code == 201
    file = response.json()
    assert user.client.get(file["links"]["content"]).content == b"kept"
    listed = user.client.get("/api/files").json()["items"]
    assert [f["id"] for f in listed] == [file["id"]]
