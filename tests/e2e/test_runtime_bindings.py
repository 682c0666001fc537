"""Each binding round-trips through the local runtime: Python on Pyodide, bindings on miniflare."""

import json
import uuid

import pytest

from runtime_harness import Runtime, wait_for

pytestmark = pytest.mark.e2e


def events(probe: Runtime, kind: str) -> list[dict]:
    response = probe.client.get("/events", params={"kind": kind})
    response.raise_for_status()
    return response.json()


def test_vars_from_wrangler_toml_reach_python(probe: Runtime) -> None:
    assert probe.client.get("/vars").json()["greeting"] == "hello from vars"


def test_python_none_binds_as_sql_null(probe: Runtime) -> None:
    assert probe.client.get("/d1/null").json() == {"is_null": 1, "type": "null"}


def test_d1_batch_runs_every_statement(probe: Runtime) -> None:
    before = probe.client.get("/d1/batch").json()["count"]
    after = probe.client.get("/d1/batch").json()["count"]
    assert after == before + 2


def test_r2_streams_bytes_in_and_out(probe: Runtime) -> None:
    key = f"objects/{uuid.uuid4()}.bin"
    payload = bytes(range(256)) * 4096  # 1 MiB, every byte value
    put = probe.client.put(f"/r2/{key}", content=payload, headers={"content-type": "application/octet-stream"})
    assert put.status_code == 200, put.text
    assert put.json()["size"] == len(payload)
    got = probe.client.get(f"/r2/{key}")
    assert got.status_code == 200
    assert got.content == payload
    assert got.headers["etag"] == f'"{put.json()["etag"]}"'


def test_r2_missing_object_is_none_in_python(probe: Runtime) -> None:
    assert probe.client.get(f"/r2/missing/{uuid.uuid4()}").status_code == 404


def test_kv_round_trip(probe: Runtime) -> None:
    key = f"k-{uuid.uuid4()}"
    assert probe.client.put(f"/kv/{key}", content=b"value-1").status_code == 200
    assert probe.client.get(f"/kv/{key}").json() == {"value": "value-1"}
    assert probe.client.get(f"/kv/other-{key}").json() == {"value": None}


def test_queued_message_reaches_the_consumer(probe: Runtime) -> None:
    tag = f"t-{uuid.uuid4()}"
    assert probe.client.get("/queue", params={"tag": tag}).status_code == 202
    consumed = wait_for(
        lambda: [e for e in events(probe, "consumed") if e["detail"] == tag], what="the consumer to run", timeout=30
    )
    assert consumed == [{"kind": "consumed", "detail": tag, "note": "1"}]


def test_send_batch_delivers_every_message(probe: Runtime) -> None:
    tag = f"b-{uuid.uuid4()}"
    sent = probe.client.get("/queue-batch", params={"tag": tag}).json()["sent"]
    consumed = wait_for(
        lambda: (
            (found := [e["detail"] for e in events(probe, "consumed") if e["detail"].startswith(tag)])
            and len(found) == len(sent)
            and found
        ),
        what="all batch messages",
        timeout=30,
    )
    assert sorted(consumed) == sorted(sent)


@pytest.mark.parametrize("mode", ["retry", "retry-all"], ids=["message-retry", "batch-retryAll"])
def test_retry_redelivers_until_max_retries_then_dead_letters(probe: Runtime, mode: str) -> None:
    # probe's wrangler.toml: max_retries = 2, so 3 deliveries, then the dead-letter queue.
    tag = f"r-{uuid.uuid4()}"
    probe.client.get("/queue", params={"tag": tag, "mode": mode}).raise_for_status()
    dead = wait_for(
        lambda: [e for e in events(probe, "dead-letter") if e["detail"] == tag], what="dead-letter delivery", timeout=60
    )
    attempts = [e["note"] for e in events(probe, "attempt") if e["detail"] == tag]
    assert attempts == ["1", "2", "3"]
    assert len(dead) == 1


def test_durable_object_rpc_and_fetch(probe: Runtime) -> None:
    name = f"rpc-{uuid.uuid4()}"
    assert probe.client.get("/do/increment", params={"name": name, "by": 5}).json() == {"total": 5}
    assert probe.client.get("/do/increment", params={"name": name, "by": 2}).json() == {"total": 7}
    assert probe.client.get("/do/snapshot", params={"name": name}).json() == {"total": 7, "last": 2}
    assert probe.client.get("/do/fetch", params={"name": name}).json() == {"path": "/total", "total": 7}


def test_durable_object_alarm_fires(probe: Runtime) -> None:
    name = f"alarm-{uuid.uuid4()}"
    probe.client.get("/do/increment", params={"name": name, "by": 1}).raise_for_status()
    probe.client.get("/do/alarm", params={"name": name, "ms": 50}).raise_for_status()
    wait_for(lambda: probe.client.get("/do/snapshot", params={"name": name}).json()["total"] == 101, what="the alarm")


def test_request_and_response_details_cross_both_ways(probe: Runtime) -> None:
    response = probe.client.post("/echo", content=b"payload", headers={"x-probe": "42"})
    assert response.status_code == 207
    assert response.headers["x-echo"] == "yes"
    assert response.json() == {"method": "POST", "header": "42", "colo": "LOCAL", "body": "payload"}


def test_ai_summary_streams_as_server_sent_events(probe: Runtime) -> None:
    with probe.client.stream("GET", "/ai/stream") as response:
        assert response.headers["content-type"] == "text/event-stream"
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert all(json.loads(e.removeprefix("data: "))["response"] for e in events[:-1])
    assert len(events) > 2


def test_ai_stand_in_answers_with_production_schemas(probe: Runtime) -> None:
    body = probe.client.get("/ai").json()
    assert body["shape"] == [2, 768]
    assert isinstance(body["response"], str)
    assert body["response"]


def test_scheduled_route_runs_the_cron_handler(probe: Runtime) -> None:
    cron = "*/5 * * * *"
    before = len(events(probe, "scheduled"))
    response = probe.client.get("/__scheduled", params={"cron": cron})
    assert response.status_code == 200
    ran = events(probe, "scheduled")
    assert len(ran) == before + 1
    assert ran[-1]["detail"] == cron


def test_wait_until_work_completes_after_the_response(probe: Runtime) -> None:
    tag = f"w-{uuid.uuid4()}"
    assert probe.client.get("/wait-until", params={"tag": tag}).json() == {"scheduled": True}
    wait_for(lambda: [e for e in events(probe, "wait-until") if e["detail"] == tag], what="waitUntil work")
