"""Real-time events (issue 14) with a real WebSocket client (PyPI `websockets`): a ticket opens
the caller's stream; uploads, processing and deletes arrive in order with increasing sequence
numbers; other users hear nothing; a reconnect with `since` replays what was missed; the user's
object can be evicted between events; bad, reused and expired tickets are refused before any
upgrade."""

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from api_client import User, UserFactory, settled, upload
from runtime_harness import Runtime

pytestmark = pytest.mark.e2e


def ticket(user: User) -> str:
    response = user.client.post("/api/events/tickets")
    assert response.status_code == 201, response.text
    return response.json()["ticket"]


@contextmanager
def stream(
    runtime: Runtime, user: User, since: int | None = None, ticket_value: str | None = None
) -> Iterator[ClientConnection]:
    query = f"ticket={ticket_value or ticket(user)}" + (f"&since={since}" if since is not None else "")
    with connect(f"ws://127.0.0.1:{runtime.port}/api/events?{query}", open_timeout=10) as socket:
        yield socket


def events(socket: ClientConnection, count: int, timeout: float = 40) -> list[dict]:
    return [json.loads(socket.recv(timeout=timeout)) for _ in range(count)]


def nothing_within(socket: ClientConnection, seconds: float) -> bool:
    try:
        socket.recv(timeout=seconds)
    except TimeoutError:
        return True
    return False


def test_an_upload_is_pushed_as_created_then_completed_in_order(edgefiles: Runtime, users: UserFactory) -> None:
    alice, bob = users.new("alice"), users.new("bob")
    with stream(edgefiles, alice) as socket, stream(edgefiles, bob) as other:
        file = upload(alice, "notes.txt", b"Quarterly notes about the garden.").json()
        created, stats, updated = events(socket, 3)
        assert (created["type"], created["file"]["id"], created["file"]["status"]) == (
            "file.created",
            file["id"],
            "pending",
        )
        assert (stats["type"], stats["stats"]["upload_count"]) == ("stats.updated", 1)
        assert (updated["type"], updated["file"]["status"]) == ("file.updated", "completed")
        assert updated["file"]["ai_analysis"]["kind"] == "text"
        assert created["seq"] < stats["seq"] < updated["seq"]
        assert nothing_within(other, 1.0), "another user's socket heard alice's events"
        socket.send("ping")
        assert socket.recv(timeout=5) == "pong"
        alice.client.delete(f"/api/files/{file['id']}").raise_for_status()
        [trashed] = events(socket, 1)
        assert (trashed["type"], trashed["file"]["id"]) == ("file.trashed", file["id"])
        alice.client.post(f"/api/trash/{file['id']}/restore").raise_for_status()
        [restored] = events(socket, 1)
        assert (restored["type"], restored["file"]["id"]) == ("file.restored", file["id"])
        alice.client.delete(f"/api/files/{file['id']}").raise_for_status()
        alice.client.delete(f"/api/trash/{file['id']}").raise_for_status()
        trashed, deleted, stats = events(socket, 3)
        assert (deleted["type"], deleted["file"]["id"]) == ("file.deleted", file["id"])
        assert stats["stats"]["upload_count"] == 0


def test_a_reconnect_with_since_gets_what_it_missed(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    with stream(edgefiles, user) as socket:
        first = upload(user, "a.txt", b"first").json()
        seen = events(socket, 3)
    last_seen = seen[-1]["seq"]
    second = upload(user, "b.txt", b"second").json()
    settled(user, second["id"])
    with stream(edgefiles, user, since=last_seen) as socket:
        missed = events(socket, 3)
    assert [e["type"] for e in missed] == ["file.created", "stats.updated", "file.updated"]
    assert missed[0]["file"]["id"] == second["id"] and missed[0]["seq"] == last_seen + 1
    assert first["id"] != second["id"]
    # Far behind (or ahead of) the backlog: one resync event instead.
    with stream(edgefiles, user, since=10**9) as socket:
        assert events(socket, 1)[0]["type"] == "resync"


def test_the_object_can_be_evicted_between_two_events(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    with stream(edgefiles, user) as socket:
        upload(user, "one.txt", b"one")
        assert [e["type"] for e in events(socket, 3)] == ["file.created", "stats.updated", "file.updated"]
        evicted = edgefiles.client.post("/__runtime/durable-objects/evict").json()["evicted"]
        assert evicted >= 1
        upload(user, "two.txt", b"two")
        assert events(socket, 1)[0]["type"] == "file.created"


def _refused(runtime: Runtime, query: str) -> int:
    with (
        pytest.raises(InvalidStatus) as refused,
        connect(f"ws://127.0.0.1:{runtime.port}/api/events?{query}", open_timeout=10),
    ):
        pass
    return refused.value.response.status_code


def test_bad_reused_expired_and_forged_tickets_are_refused_without_upgrading(
    edgefiles: Runtime, users: UserFactory
) -> None:
    alice, bob = users.new("alice"), users.new("bob")
    used = ticket(alice)
    with stream(edgefiles, alice, ticket_value=used):
        pass
    assert _refused(edgefiles, f"ticket={used}") == 401  # single use
    assert _refused(edgefiles, "ticket=not-a-ticket") == 401
    assert _refused(edgefiles, "") == 401
    # Bob's ticket with alice's name on it: alice's object never issued it.
    _, secret = ticket(bob).split(".")
    forged = f"{used.split('.')[0]}.{secret}"
    assert _refused(edgefiles, f"ticket={forged}") == 401
    # Expired: the object's clock says so (the ticket row's time moved to the past).
    expiring = ticket(alice)
    directory = (edgefiles.persist_to / "v3" / "do" / "edgefiles-UserStats").resolve()
    path = directory / f"{hashlib.sha256(f'{directory}\0{alice.user_id}'.encode()).hexdigest()}.sqlite"
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("UPDATE tickets SET expires_at = 0 WHERE ticket = ?", (expiring,)).rowcount == 1
        db.commit()
    assert _refused(edgefiles, f"ticket={expiring}") == 401
    # Without an upgrade the endpoint says what it is.
    plain = edgefiles.client.get("/api/events", params={"ticket": ticket(alice)})
    assert plain.status_code == 426
    assert plain.headers["content-type"] == "application/problem+json"


def test_the_same_events_come_as_server_sent_events(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    headers = {"accept": "text/event-stream"}
    with edgefiles.client.stream("GET", "/api/events", params={"ticket": ticket(user)}, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        lines = response.iter_lines()
        assert next(lines) == ": connected"
        file = upload(user, "sse.txt", b"server-sent").json()
        received = []
        while len(received) < 3:
            line = next(lines)
            if line.startswith("data: "):
                received.append(json.loads(line.removeprefix("data: ")))
            elif line.startswith("id: "):
                assert int(line.removeprefix("id: ")) > 0
    assert [e["type"] for e in received] == ["file.created", "stats.updated", "file.updated"]
    assert received[0]["file"]["id"] == file["id"]
    # An EventSource reconnecting sends the last id it saw: it gets what came after.
    resume = {**headers, "last-event-id": str(received[0]["seq"])}
    with edgefiles.client.stream("GET", "/api/events", params={"ticket": ticket(user)}, headers=resume) as response:
        replayed = []
        lines = response.iter_lines()
        while len(replayed) < 2:
            line = next(lines)
            if line.startswith("data: "):
                replayed.append(json.loads(line.removeprefix("data: ")))
    assert [e["seq"] for e in replayed] == [e["seq"] for e in received[1:]]


def test_a_user_holds_at_most_fifty_streams_and_the_oldest_makes_room(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(stream(edgefiles, user)) for _ in range(51)]
        with pytest.raises(ConnectionClosed) as closed:
            sockets[0].recv(timeout=10)
        assert closed.value.rcvd.code == 1008
        upload(user, "crowd.txt", b"to the fifty")
        assert all(events(socket, 1)[0]["type"] == "file.created" for socket in sockets[1:])


def test_streams_whose_clients_left_are_released_quietly(edgefiles: Runtime, users: UserFactory) -> None:
    user = users.new()
    log_before = len(edgefiles.log_text())
    for _ in range(5):
        params = {"ticket": ticket(user)}
        with edgefiles.client.stream(
            "GET", "/api/events", params=params, headers={"accept": "text/event-stream"}
        ) as sse:
            assert next(sse.iter_lines()) == ": connected"
    with stream(edgefiles, user) as socket:
        upload(user, "after.txt", b"after the SSE clients left")
        assert [e["type"] for e in events(socket, 3)] == ["file.created", "stats.updated", "file.updated"]
    log = edgefiles.log_text()[log_before:]
    assert "uncaught" not in log, log[-2000:]
    assert "Traceback" not in log, log[-2000:]
