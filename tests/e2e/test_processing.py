"""Background processing on the local runtime: the queue consumer, the dead-letter queue, the
reconciler, per-user stats, search and streamed summaries."""

import io
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api_client import UserFactory, calls, now_ms, queue_calls, settled, upload
from runtime_harness import Runtime, wait_for

pytestmark = pytest.mark.e2e


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF whose content stream is FlateDecode'd and shows `text` with Tj."""
    stream = zlib.compress(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    out.write(b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n")
    out.write(b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n")
    out.write(b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n")
    out.write(
        b"4 0 obj << /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream\nendobj\n"
    )
    out.write(b"trailer << /Root 1 0 R >>\n%%EOF\n")
    return out.getvalue()


def png(seed: str) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + seed.encode() * 8


def test_text_file_is_summarised_and_embedded(users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "orchard.txt", b"Apples and pears grow in the old orchard.\n\nThe harvest is in autumn.").json()
    done = settled(user, file["id"])
    assert done["status"] == "completed"
    assert done["ai_analysis"]["kind"] == "text"
    assert "orchard" in done["ai_analysis"]["summary"]
    assert done["ai_analysis"]["chunks"] == 1


def test_pdf_text_is_extracted_in_python(users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "report.pdf", minimal_pdf("Revenue grew in the third quarter"), "application/pdf").json()
    done = settled(user, file["id"])
    assert done["status"] == "completed", done
    assert done["ai_analysis"]["kind"] == "pdf"
    assert "Revenue grew" in done["ai_analysis"]["summary"]


def test_image_gets_labels_and_a_description(users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "photo.png", png(str(uuid.uuid4())), "image/png").json()
    done = settled(user, file["id"])
    analysis = done["ai_analysis"]
    assert analysis["kind"] == "image"
    assert len(analysis["labels"]) == 5
    assert done["description"] == analysis["description"]
    assert "cached" not in analysis  # whether an image was seen before is nobody's business


def test_a_second_identical_image_costs_no_ai_call(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    image = png(str(uuid.uuid4()))
    first = upload(user, "one.png", image, "image/png").json()
    settled(user, first["id"])
    before = now_ms()
    second = upload(user, "two.png", image, "image/png").json()
    done = settled(user, second["id"])
    assert done["ai_analysis"]["labels"] == settled(user, first["id"])["ai_analysis"]["labels"]
    later = queue_calls(edgefiles, before)
    assert ("CACHE", "get") in later
    assert ("AI", "run") not in later


def test_identical_images_uploaded_together_are_analysed_once(edgefiles: Runtime, users: UserFactory) -> None:
    """KV takes one write per key per second: copies of one image in one queue batch share one
    analysis, so the image's cache key is written once."""
    user = users.new()
    image = png(str(uuid.uuid4()))
    before = now_ms()
    with ThreadPoolExecutor(3) as pool:
        ids = list(pool.map(lambda i: upload(user, f"copy-{i}.png", image, "image/png").json()["id"], range(3)))
    labels = [settled(user, file_id)["ai_analysis"]["labels"] for file_id in ids]
    assert labels[0] == labels[1] == labels[2]
    assert queue_calls(edgefiles, before).count(("CACHE", "put")) == 1


def test_a_duplicate_delivery_changes_nothing(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "dup.txt", b"delivered twice").json()
    done = settled(user, file["id"])
    before = now_ms()
    edgefiles.send_to_queue("QUEUE", {"type": "file_uploaded", "file_id": file["id"], "user_id": user.user_id})
    wait_for(lambda: edgefiles.traces("queue", before), what="the duplicate to be consumed")
    later = queue_calls(edgefiles, before)
    assert ("AI", "run") not in later
    assert user.client.get(f"/api/files/{file['id']}").json() == done
    assert user.client.get("/api/stats").json()["upload_count"] == 1


def test_a_transient_ai_failure_is_retried_then_completes(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    with edgefiles.fault("AI.run", count=1):
        file = upload(user, "flaky.txt", b"the first attempt fails").json()
        done = settled(user, file["id"])
    assert done["status"] == "completed"
    assert "first attempt fails" in done["ai_analysis"]["summary"]


def test_a_permanent_failure_is_recorded_without_retrying(users: UserFactory) -> None:
    user = users.new()
    # Valid text where the upload is sniffed, not UTF-8 further on.
    body = b"a" * 1024 + b"\xff\xfe\xfd not text"
    file = upload(user, "bad.txt", body).json()
    done = settled(user, file["id"])
    assert done["status"] == "failed"
    assert "UTF-8" in done["ai_analysis"]["error"]


def test_exhausted_retries_end_in_the_dead_letter_queue(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    with edgefiles.fault("AI.run", count=10_000):
        file = upload(user, "doomed.txt", b"every attempt fails").json()
        done = settled(user, file["id"], timeout=60)
    assert done["status"] == "failed"
    assert "gave up after repeated failures" in done["ai_analysis"]["error"]
    assert "injected fault: AI.run" in done["ai_analysis"]["error"]


def test_fifty_concurrent_uploads_are_counted_exactly(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    sizes = [100 + i * 37 for i in range(50)]

    def send(size: int) -> int:
        with httpx.Client(base_url=edgefiles.url, headers={"authorization": f"Bearer {user.key}"}, timeout=60) as c:
            return c.put(
                f"/api/files/f{size}.txt", content=b"x" * size, headers={"content-type": "text/plain"}
            ).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        assert list(pool.map(send, sizes)) == [201] * 50
    stats = user.client.get("/api/stats").json()
    assert (stats["upload_count"], stats["total_bytes"]) == (50, sum(sizes))
    assert stats["by_content_type"] == {"text/plain": 50}


def test_reconciler_requeues_a_file_whose_queue_send_failed(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    with edgefiles.fault("QUEUE.send"):
        file = upload(user, "lost.txt", b"the job was never sent").json()
    assert user.client.get(f"/api/files/{file['id']}").json()["status"] == "pending"
    ran = edgefiles.client.get("/__scheduled")
    assert ran.status_code == 200
    assert ("QUEUE", "sendBatch") in calls(edgefiles, ran)
    assert settled(user, file["id"])["status"] == "completed"


def test_reconciler_rebuilds_stats_that_disagree_with_d1(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    with edgefiles.fault("USER_STATS.record_upload"):
        assert upload(user, "uncounted.txt", b"12345").status_code == 201
    assert user.client.get("/api/stats").json()["upload_count"] == 0
    edgefiles.reconcile_until_caught_up()
    stats = user.client.get("/api/stats").json()
    assert (stats["upload_count"], stats["total_bytes"]) == (1, 5)


def test_search_ranks_the_file_sharing_the_querys_words_first(users: UserFactory) -> None:
    user = users.new()
    texts = {
        "garden.txt": b"Tomatoes and basil grow well in a sunny garden bed.",
        "taxes.txt": b"File quarterly estimated taxes before the deadline.",
        "bikes.txt": b"Mountain bikes need their chains cleaned after muddy rides.",
    }
    ids = {name: upload(user, name, body).json()["id"] for name, body in texts.items()}
    for file_id in ids.values():
        settled(user, file_id)
    # Vectorize makes writes visible a few seconds later (so does the local runtime): wait until
    # all three files' vectors are, so the ranking below compares them all.
    query = {"q": "quarterly taxes deadline"}
    wait_for(
        lambda: len(user.client.get("/api/search", params={**query, "mode": "semantic"}).json()["results"]) == 3,
        timeout=20,
        what="the three files' vectors to become visible",
    )
    for mode in ("hybrid", "keyword", "semantic"):
        found = user.client.get("/api/search", params={**query, "mode": mode}).json()
        assert found["mode"] == mode
        assert found["results"][0]["file"]["filename"] == "taxes.txt", mode
        assert "quarterly" in found["results"][0]["snippet"], mode
    hybrid = user.client.get("/api/search", params={"q": "quarterly taxes deadline"}).json()
    assert hybrid["modes"] == ["keyword", "semantic"]
    assert hybrid["results"][0]["score"] > hybrid["results"][1]["score"]
    assert users.new().client.get("/api/search", params={"q": "taxes"}).json()["results"] == []


@pytest.mark.parametrize(
    "params", [{}, {"q": ""}, {"q": "x" * 501}, {"q": "a", "limit": "0"}, {"q": "a", "mode": "fuzzy"}]
)
def test_search_validates_its_query(users: UserFactory, params: dict) -> None:
    assert users.new().client.get("/api/search", params=params).status_code == 400


def test_summary_streams_as_server_sent_events(users: UserFactory) -> None:
    user = users.new()
    file = upload(user, "s.txt", b"Streaming summaries arrive word by word.").json()
    with user.client.stream("GET", f"/api/files/{file['id']}/summary", params={"stream": "1"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines)
    settled(user, file["id"])
    stored = user.client.get(f"/api/files/{file['id']}/summary").json()
    assert "Streaming summaries" in stored["summary"]


def test_deleting_files_updates_stats(users: UserFactory) -> None:
    user = users.new()
    first = upload(user, "a.txt", b"aaaa").json()
    upload(user, "b.txt", b"bb")
    assert user.client.delete(f"/api/files/{first['id']}").status_code == 204
    stats = user.client.get("/api/stats").json()
    assert (stats["upload_count"], stats["total_bytes"]) == (2, 6)  # in the trash: still stored
    assert user.client.delete(f"/api/trash/{first['id']}").status_code == 204
    stats = user.client.get("/api/stats").json()
    assert (stats["upload_count"], stats["total_bytes"]) == (1, 2)


def test_reconciler_aborts_multipart_uploads_idle_for_a_day(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    plan = user.client.post(
        "/api/uploads", json={"filename": "idle.bin", "content_type": "application/octet-stream", "size": 10}
    ).json()
    upload_url = f"/api/uploads/{plan['upload_id']}"
    edgefiles.client.get("/__scheduled").raise_for_status()
    assert user.client.get(upload_url).status_code == 200, "a fresh upload must be left alone"
    two_days_later = int((time.time() + 2 * 24 * 3600) * 1000)
    made: list[tuple[str, str]] = []
    # Each run aborts a bounded batch, oldest first; earlier tests may have left idle uploads too.
    for _ in range(30):
        ran = edgefiles.client.get("/__scheduled", params={"time": two_days_later})
        assert ran.status_code == 200
        made += calls(edgefiles, ran)
        if user.client.get(upload_url).status_code == 404:
            break
    assert ("STORAGE", "abort") in made
    assert user.client.get(upload_url).status_code == 404
