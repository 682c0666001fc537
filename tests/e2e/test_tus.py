"""tus 1.0 at /api/tus/: real clients (tus-js-client from npm, in Node) upload files of every
size with chunk sizes that are not multiples of the part size, survive a storage fault and a
killed client, and the bytes downloaded are the bytes sent. The protocol's edges are checked
with plain HTTP: versions, offsets, types, checksums, termination, expiry, and what is left in
R2 (no temporary segment outlives its upload)."""

import base64
import hashlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from tusclient.client import TusClient
from tusclient.storage.filestorage import FileStorage
from tusclient.uploader import Uploader

from api_client import User, UserFactory
from invariants import database
from runtime_harness import PeakMemory, Runtime, wait_for

pytestmark = pytest.mark.e2e

CLIENT = Path(__file__).resolve().parents[1] / "clients" / "tus_upload.mjs"
TUS = {"tus-resumable": "1.0.0"}
MiB = 1024 * 1024


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def random_file(tmp_path: Path, size: int, name: str = "data.bin") -> Path:
    path = tmp_path / name
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(left, 4 * MiB))
            out.write(block)
            left -= len(block)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(4 * MiB):
            digest.update(block)
    return digest.hexdigest()


def run_client(
    runtime: Runtime, user: User, path: Path, chunk_size: int, store: Path, **extra: object
) -> Iterator[dict]:
    """Runs tus_upload.mjs; yields its events as they come."""
    options = {
        "endpoint": f"{runtime.url}/api/tus/",
        "key": user.key,
        "file": str(path),
        "chunkSize": chunk_size,
        "urlStorage": str(store),
        "metadata": {"filename": path.name, "filetype": "application/octet-stream"},
        **extra,
    }
    process = subprocess.Popen(["node", str(CLIENT), json.dumps(options)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            yield json.loads(line)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def uploaded_file(runtime: Runtime, user: User, url: str) -> dict:
    """The file a finished tus upload became."""
    upload_id = url.rstrip("/").rsplit("/", 1)[1]
    with closing(database(runtime.persist_to, "d1")) as d1:
        (file_id,) = d1.execute("SELECT file_id FROM uploads WHERE id = ?", [upload_id]).fetchone()
    response = user.client.get(f"/api/files/{file_id}")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def tus_user(edgefiles: Runtime, users: UserFactory) -> User:
    return users.new("tus")


def download_sha256(user: User, file_id: str) -> str:
    digest = hashlib.sha256()
    with user.client.stream("GET", f"/api/files/{file_id}/content") as response:
        assert response.status_code == 200
        for block in response.iter_bytes():
            digest.update(block)
    return digest.hexdigest()


def segment_objects(runtime: Runtime, upload_id: str) -> list[str]:
    with closing(database(runtime.persist_to, "r2")) as r2:
        return [key for (key,) in r2.execute("SELECT key FROM _mf_objects WHERE key LIKE ?", [f"tus/{upload_id}/%"])]


@pytest.mark.parametrize(
    ("size", "chunk_size", "protocol"),
    [
        (1024, 5_000_000, "tus-v1"),
        (30_000_000, 7_000_000, "tus-v1"),
        (9 * MiB + 17, 13_000_013, "tus-v1"),
        (30_000_000, 13_000_013, "ietf-draft-03"),
        (20_000_000, 5_000_000, "ietf-draft-05"),
    ],
    ids=["1KB", "30MB-in-7MB-chunks", "9MiB-in-one-chunk", "30MB-ietf-interop-5", "20MB-ietf-interop-6"],
)
def test_tus_js_client_uploads_and_the_bytes_come_back(
    edgefiles: Runtime, tus_user: User, tmp_path: Path, size: int, chunk_size: int, protocol: str
) -> None:
    path = random_file(tmp_path, size)
    events = list(run_client(edgefiles, tus_user, path, chunk_size, tmp_path / "urls.json", protocol=protocol))
    assert events[-1]["event"] == "success", events[-3:]
    file = uploaded_file(edgefiles, tus_user, events[-1]["url"])
    assert (file["filename"], file["size_bytes"], file["content_type"]) == (
        "data.bin",
        size,
        "application/octet-stream",
    )
    assert download_sha256(tus_user, file["id"]) == sha256_of(path)
    upload_id = events[-1]["url"].rsplit("/", 1)[1]
    wait_for(lambda: segment_objects(edgefiles, upload_id) == [], what="the upload's segments to be deleted")


def failed_part_writes(runtime: Runtime, since_ms: int) -> int:
    calls = [call for trace in runtime.traces("fetch", since_ms) for call in trace["calls"]]
    return sum(call["method"] == "uploadPart" and call["ok"] is False for call in calls)


def test_a_storage_fault_on_a_part_is_retried_by_the_client_and_nothing_is_lost(
    edgefiles: Runtime, tus_user: User, tmp_path: Path
) -> None:
    path = random_file(tmp_path, 20_000_000)
    since = int(time.time() * 1000)
    with edgefiles.fault("STORAGE.uploadPart", count=1, skip=1):
        events = list(run_client(edgefiles, tus_user, path, 6_000_000, tmp_path / "urls.json"))
    assert events[-1]["event"] == "success", events[-3:]
    assert failed_part_writes(edgefiles, since) == 1  # it happened, and the client went on from the offset
    file = uploaded_file(edgefiles, tus_user, events[-1]["url"])
    assert download_sha256(tus_user, file["id"]) == sha256_of(path)


def test_a_killed_client_resumes_where_the_server_stopped(edgefiles: Runtime, tus_user: User, tmp_path: Path) -> None:
    path = random_file(tmp_path, 30_000_000)
    store = tmp_path / "urls.json"
    first = run_client(edgefiles, tus_user, path, 5_000_000, store)
    accepted = 0
    for event in first:
        if event["event"] == "chunk":
            accepted = event["accepted"]
            if accepted >= 10_000_000:
                break  # the generator's close kills the client in the middle of the next PATCH
    first.close()
    assert accepted >= 10_000_000
    events = list(run_client(edgefiles, tus_user, path, 5_000_000, store))
    assert events[0]["event"] == "resuming", events[:2]
    chunks = [e["accepted"] for e in events if e["event"] == "chunk"]
    assert chunks[0] > 10_000_000 - 1  # resumed from the server's offset, not from zero
    assert events[-1]["event"] == "success"
    file = uploaded_file(edgefiles, tus_user, events[-1]["url"])
    assert download_sha256(tus_user, file["id"]) == sha256_of(path)
    assert json.loads(store.read_text() or "{}") == {} or "tus::" not in store.read_text()  # forgotten on success


def create(user: User, size: int, **headers: str) -> httpx.Response:
    meta = headers.pop("meta", metadata(filename="x.bin", filetype="application/octet-stream"))
    return user.client.post(
        "/api/tus/", headers={**TUS, "upload-length": str(size), "upload-metadata": meta, **headers}
    )


def patch(user: User, url: str, offset: int, body: bytes, **headers: str) -> httpx.Response:
    return user.client.patch(
        url,
        content=body,
        headers={**TUS, "upload-offset": str(offset), "content-type": "application/offset+octet-stream", **headers},
    )


def test_the_protocol_edges(edgefiles: Runtime, tus_user: User) -> None:
    options = tus_user.client.options("/api/tus/")
    assert options.status_code == 204
    assert options.headers["tus-version"] == "1.0.0"
    assert set(options.headers["tus-extension"].split(",")) >= {"creation", "creation-with-upload", "termination"}
    assert "sha256" in options.headers["tus-checksum-algorithm"]

    no_version = tus_user.client.post("/api/tus/", headers={"upload-length": "10"})
    assert no_version.status_code == 412 and no_version.headers["tus-version"] == "1.0.0"
    assert no_version.headers["tus-resumable"] == "1.0.0"  # even on errors
    assert create(tus_user, 10, **{"upload-defer-length": "1"}).status_code == 400
    assert create(tus_user, 10, meta="filename !!!").status_code == 400
    assert create(tus_user, 10, meta=metadata(filename="a.exe", filetype="application/x-msdownload")).status_code == 415
    assert tus_user.client.post("/api/tus/", headers={**TUS, "upload-length": "-1"}).status_code == 400
    assert tus_user.client.post("/api/tus/", headers={**TUS, "upload-length": "9" * 40}).status_code == 400

    body = os.urandom(300_000)
    created = create(tus_user, len(body))
    assert created.status_code == 201 and created.headers["upload-expires"].endswith("GMT")
    url = created.headers["location"]
    head = tus_user.client.head(url, headers=TUS)
    assert head.headers["upload-offset"] == "0" and head.headers["upload-length"] == str(len(body))
    assert head.headers["cache-control"] == "no-store"

    wrong_type = tus_user.client.patch(
        url, content=b"x", headers={**TUS, "upload-offset": "0", "content-type": "application/octet-stream"}
    )
    assert wrong_type.status_code == 415
    first = patch(tus_user, url, 0, body[:100_000])
    assert first.status_code == 204 and first.headers["upload-offset"] == "100000"
    stale = patch(tus_user, url, 0, body[:100_000])
    assert stale.status_code == 409 and stale.headers["upload-offset"] == "100000"
    assert patch(tus_user, url, 100_000, body[100_000:] + b"extra").status_code == 413

    good = base64.b64encode(hashlib.sha256(body[100_000:200_000]).digest()).decode()
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    refused = patch(tus_user, url, 100_000, body[100_000:200_000], **{"upload-checksum": f"sha256 {bad}"})
    assert refused.status_code == 460
    assert tus_user.client.head(url, headers=TUS).headers["upload-offset"] == "100000"  # nothing kept
    assert (
        patch(tus_user, url, 100_000, body[100_000:200_000], **{"upload-checksum": f"sha256 {good}"}).status_code == 204
    )
    sha1 = base64.b64encode(hashlib.sha1(body[200_000:]).digest()).decode()  # noqa: S324 - tus's checksum extension
    done = patch(tus_user, url, 200_000, body[200_000:], **{"upload-checksum": f"sha1 {sha1}"})
    assert done.status_code == 204 and done.headers["upload-offset"] == str(len(body))
    assert tus_user.client.head(url, headers=TUS).headers["upload-offset"] == str(len(body))
    assert patch(tus_user, url, len(body), b"").status_code == 204
    file = uploaded_file(edgefiles, tus_user, url)
    assert download_sha256(tus_user, file["id"]) == hashlib.sha256(body).hexdigest()


def test_creation_with_upload_and_termination(edgefiles: Runtime, tus_user: User) -> None:
    body = b"hello, tus\n" * 1000
    created = tus_user.client.post(
        "/api/tus/",
        content=body[:5000],
        headers={
            **TUS,
            "upload-length": str(len(body)),
            "upload-metadata": metadata(filename="hello.txt", filetype="text/plain"),
            "content-type": "application/offset+octet-stream",
        },
    )
    assert created.status_code == 201 and created.headers["upload-offset"] == "5000"
    url = created.headers["location"]
    upload_id = url.rsplit("/", 1)[1]
    assert segment_objects(edgefiles, upload_id) != []
    quota = tus_user.client.get("/api/stats").json()["quota"]
    assert quota["reserved_bytes"] == len(body)

    assert tus_user.client.delete(url, headers=TUS).status_code == 204
    assert tus_user.client.head(url, headers=TUS).status_code == 404
    assert patch(tus_user, url, 5000, body[5000:]).status_code == 404
    assert tus_user.client.get("/api/stats").json()["quota"]["reserved_bytes"] == 0
    wait_for(lambda: segment_objects(edgefiles, upload_id) == [], what="the terminated upload's segments to go")


def test_tiny_chunks_keep_a_bounded_number_of_segments(edgefiles: Runtime, tus_user: User) -> None:
    """A client sending 100 kB at a time into an 8 MiB part: the bytes wait in segments, which
    are taken into one another past a handful, and the part is still exact."""
    body = os.urandom(8 * MiB + 300_000)
    url = create(tus_user, len(body)).headers["location"]
    upload_id = url.rsplit("/", 1)[1]
    offset, most = 0, 0
    step = 100_000
    while offset < len(body):
        chunk = body[offset : offset + step]
        response = patch(tus_user, url, offset, chunk)
        assert response.status_code == 204, response.text
        offset += len(chunk)
        most = max(most, len(segment_objects(edgefiles, upload_id)))
    assert most <= 9
    file = uploaded_file(edgefiles, tus_user, url)
    assert download_sha256(tus_user, file["id"]) == hashlib.sha256(body).hexdigest()


def test_type_quota_and_folder_from_metadata(edgefiles: Runtime, tus_user: User, users: UserFactory) -> None:
    folder = tus_user.client.post("/api/folders", json={"name": "inbox"}).json()
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(1000)
    meta = metadata(filename="pic.png", filetype="image/png", folder_id=folder["id"])
    url = create(tus_user, len(png), meta=meta).headers["location"]
    assert patch(tus_user, url, 0, png).status_code == 204
    file = uploaded_file(edgefiles, tus_user, url)
    assert file["folder_id"] == folder["id"] and file["content_type"] == "image/png"

    # Bytes that are not what the type says: refused at the end, nothing stored, nothing held.
    fake = create(tus_user, 1000, meta=metadata(filename="fake.png", filetype="image/png")).headers["location"]
    refused = patch(tus_user, fake, 0, b"not a png" * 111 + b"x")
    assert refused.status_code == 415
    assert tus_user.client.get("/api/stats").json()["quota"]["reserved_bytes"] == 0
    assert tus_user.client.head(fake, headers=TUS).status_code == 404

    admin = users.admin()
    assert admin.put(f"/api/admin/users/{tus_user.user_id}/quota", json={"max_bytes": 10_000_000}).status_code == 200
    over = create(tus_user, 20_000_000)
    assert over.status_code == 413 and over.json()["title"] == "Quota exceeded"

    empty = create(tus_user, 0, meta=metadata(filename="empty.txt", filetype="text/plain"))
    assert empty.status_code == 201 and empty.headers["upload-offset"] == "0"
    assert tus_user.client.head(empty.headers["location"], headers=TUS).headers["upload-offset"] == "0"
    assert uploaded_file(edgefiles, tus_user, empty.headers["location"])["size_bytes"] == 0


def test_another_users_upload_is_not_found(edgefiles: Runtime, tus_user: User, users: UserFactory) -> None:
    url = create(tus_user, 100).headers["location"]
    stranger = users.new("stranger")
    assert stranger.client.head(url, headers=TUS).status_code == 404
    assert patch(stranger, url, 0, b"x" * 100).status_code == 404
    assert stranger.client.delete(url, headers=TUS).status_code == 404
    assert tus_user.client.head(url, headers=TUS).headers["upload-offset"] == "0"


def test_a_250_mb_upload_streams_through_in_bounded_memory(edgefiles: Runtime, tus_user: User, tmp_path: Path) -> None:
    """Issue 16: a 250 MB tus upload grows the runtime by less than 32 MB. 50 MB chunks (the web
    app's, not a multiple of the 8 MiB parts): most parts are stitched from a segment and the body."""
    path = random_file(tmp_path, 250 * 1000 * 1000)
    since = int(time.time() * 1000)
    # Interrupted too: a part write in the middle fails, and the client goes on from the offset.
    with PeakMemory(edgefiles) as memory, edgefiles.fault("STORAGE.uploadPart", count=1, skip=12):
        events = list(run_client(edgefiles, tus_user, path, 50 * 1000 * 1000, tmp_path / "urls.json"))
    assert events[-1]["event"] == "success", events[-3:]
    assert failed_part_writes(edgefiles, since) == 1
    print(f"250 MB tus upload: runtime RSS {memory.baseline / MiB:.0f} MiB, peak +{memory.growth / MiB:.1f} MiB")
    assert memory.growth < 32 * MiB
    file = uploaded_file(edgefiles, tus_user, events[-1]["url"])
    assert download_sha256(tus_user, file["id"]) == sha256_of(path)


class Sha256Uploader(Uploader):
    """tuspy sends sha1 in Upload-Checksum; the same request with sha256 (which the server also
    offers) is a subclass away."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


# tuspy 1.1.0 opens the file for each size and fingerprint without closing it (baseuploader.py
# get_file_size, get_file_stream), and closes a stream it was given (_get_fingerprint), so with
# store_url only file_path works, and its unclosed files are tuspy's, not the server's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("uploader_class", [Uploader, Sha256Uploader], ids=["sha1", "sha256"])
def test_tuspy_survives_a_fault_and_a_restart_and_the_bytes_come_back(
    edgefiles: Runtime, tus_user: User, tmp_path: Path, uploader_class: type[Uploader]
) -> None:
    """tuspy (PyPI) with its URL store: a storage fault on a part is retried from the server's
    offset (HEAD), then the process "exits" after two chunks and a new uploader for the same
    file finds the stored URL and finishes from where the server stopped."""
    path = random_file(tmp_path, 30_000_000, "from-python.bin")
    storage = FileStorage(str(tmp_path / "tus-urls.json"))
    tus_client = TusClient(f"{edgefiles.url}/api/tus/", headers={"authorization": f"Bearer {tus_user.key}"})

    def uploader() -> Uploader:
        return uploader_class(
            file_path=str(path),
            client=tus_client,
            chunk_size=7_000_000,
            metadata={"filename": path.name, "filetype": "application/octet-stream"},
            retries=2,
            retry_delay=0,
            store_url=True,
            url_storage=storage,
            upload_checksum=True,
        )

    first = uploader()
    since = int(time.time() * 1000)
    with edgefiles.fault("STORAGE.uploadPart", count=1):
        first.upload_chunk()
        first.upload_chunk()  # completes part 1, whose first write fails
    assert first.offset == 14_000_000
    assert failed_part_writes(edgefiles, since) == 1
    del first  # the process ends

    second = uploader()
    assert second.offset == 14_000_000  # found by its fingerprint, asked with HEAD
    second.upload()
    assert second.offset == path.stat().st_size
    file = uploaded_file(edgefiles, tus_user, second.url)
    assert download_sha256(tus_user, file["id"]) == sha256_of(path)
    storage.close()


def test_the_reconciler_ends_expired_uploads_and_sweeps_leftover_segments(edgefiles: Runtime, tus_user: User) -> None:
    """An upload left for longer than Upload-Expires is aborted (its reservation released, its
    segments deleted); segments whose delete failed are swept once their upload is over."""
    expiring = create(tus_user, 1_000_000).headers["location"]
    assert patch(tus_user, expiring, 0, os.urandom(10_000)).status_code == 204
    ended = create(tus_user, 1_000_000).headers["location"]
    assert patch(tus_user, ended, 0, os.urandom(10_000)).status_code == 204
    with edgefiles.fault("STORAGE.delete", count=5):
        assert tus_user.client.delete(ended, headers=TUS).status_code == 204
        time.sleep(0.5)  # the segments' delete runs after the response, and fails
    ended_id, expiring_id = ended.rsplit("/", 1)[1], expiring.rsplit("/", 1)[1]
    assert segment_objects(edgefiles, ended_id) != []
    assert tus_user.client.get("/api/stats").json()["quota"]["reserved_bytes"] == 1_000_000

    later = int(time.time() * 1000) + 7 * 24 * 3600 * 1000

    def swept() -> bool:
        edgefiles.client.get("/__scheduled", params={"time": str(later)}).raise_for_status()
        return segment_objects(edgefiles, ended_id) == segment_objects(edgefiles, expiring_id) == []

    wait_for(swept, timeout=120, interval=0, what="the reconciler to sweep both uploads' segments")
    assert tus_user.client.head(expiring, headers=TUS).status_code == 404
    assert tus_user.client.get("/api/stats").json()["quota"]["reserved_bytes"] == 0


class HeldBody:
    """A request body that sends its first part, then waits until released to send the rest:
    a client whose request is still in flight when it retries on another connection."""

    def __init__(self, body: bytes, split: int) -> None:
        self.body, self.split = body, split
        self.release = threading.Event()
        self.half_sent = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        yield self.body[: self.split]
        self.half_sent.set()
        self.release.wait(60)
        yield self.body[self.split :]


def patch_in_background(user: User, url: str, offset: int, body: HeldBody) -> dict:
    outcome: dict = {}

    def send() -> None:
        try:
            outcome["response"] = patch(user, url, offset, body, **{"content-length": str(len(body.body))})  # type: ignore[arg-type]
        except httpx.HTTPError as error:
            outcome["error"] = error

    outcome["thread"] = threading.Thread(target=send, daemon=True)
    outcome["thread"].start()
    return outcome


def test_a_request_overtaken_by_a_retry_never_replaces_what_the_retry_stored(
    edgefiles: Runtime, tus_user: User
) -> None:
    """An attacker's repro (and tus-js-client after a timeout): PATCH A of part 1 stalls half
    way, PATCH B sends part 1 again and is recorded, then A finishes. A must not overwrite the
    part B recorded (R2 would then refuse to assemble the upload, for ever)."""
    body = os.urandom(9 * MiB)
    url = create(tus_user, len(body)).headers["location"]
    first = HeldBody(body[: 8 * MiB], 4 * MiB)
    outcome = patch_in_background(tus_user, url, 0, first)
    assert first.half_sent.wait(30)
    time.sleep(0.5)  # the half is through to the Worker
    retry = patch(tus_user, url, 0, body[: 8 * MiB])
    assert retry.status_code == 204 and retry.headers["upload-offset"] == str(8 * MiB)
    first.release.set()
    outcome["thread"].join(60)
    assert "response" not in outcome or outcome["response"].status_code == 409
    done = patch(tus_user, url, 8 * MiB, body[8 * MiB :])
    assert done.status_code == 204, done.text
    file = uploaded_file(edgefiles, tus_user, url)
    assert download_sha256(tus_user, file["id"]) == hashlib.sha256(body).hexdigest()


def test_a_late_segment_of_an_ended_upload_is_not_left_behind(edgefiles: Runtime, tus_user: User) -> None:
    url = create(tus_user, 100_000).headers["location"]
    upload_id = url.rsplit("/", 1)[1]
    late = HeldBody(os.urandom(1000), 500)
    outcome = patch_in_background(tus_user, url, 0, late)
    assert late.half_sent.wait(30)
    time.sleep(0.5)
    assert tus_user.client.delete(url, headers=TUS).status_code == 204
    late.release.set()
    outcome["thread"].join(60)
    assert "response" not in outcome or outcome["response"].status_code in (404, 409)
    wait_for(lambda: segment_objects(edgefiles, upload_id) == [], what="the late segment to be deleted")
    assert tus_user.client.get("/api/stats").json()["quota"]["reserved_bytes"] == 0


def test_creation_with_upload_refused_leaves_no_upload(edgefiles: Runtime, tus_user: User) -> None:
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    for headers, body, status in [
        ({"upload-checksum": f"sha256 {wrong}"}, b"12345", 460),
        ({}, b"x" * 11, 413),
        (
            {
                "upload-draft-interop-version": "6",
                "upload-complete": "?1",
                "content-type": "application/partial-upload",
            },
            b"12345",
            400,
        ),
    ]:
        refused = tus_user.client.post(
            "/api/tus/",
            content=body,
            headers={"upload-length": "10", "content-type": "application/offset+octet-stream", **TUS, **headers},
        )
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "location" not in refused.headers
    assert tus_user.client.get("/api/stats").json()["quota"]["reserved_bytes"] == 0
