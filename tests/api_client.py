"""Clients for the edgefiles API as its users see it: an admin who mints keys, users with keys."""

import time
import uuid
from dataclasses import dataclass

import httpx

from runtime_harness import Runtime, wait_for

ADMIN_TOKEN = "test-admin-token-0123456789abcdef-0123"
SIGNING_KEY = "test-signing-key-0123456789abcdef"
MAX_FILE_SIZE = 2 * 1024 * 1024


@dataclass
class User:
    user_id: str
    key: str
    prefix: str
    client: httpx.Client


class UserFactory:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._clients: list[httpx.Client] = []

    def admin(self) -> httpx.Client:
        return self._client({"authorization": f"Bearer {ADMIN_TOKEN}"})

    def anonymous(self) -> httpx.Client:
        return self._client({})

    def new(self, name: str = "user") -> User:
        user_id = f"{name}-{uuid.uuid4().hex[:12]}"
        response = self.admin().post("/api/admin/keys", json={"user_id": user_id})
        assert response.status_code == 201, response.text
        body = response.json()
        return User(user_id, body["key"], body["prefix"], self._client({"authorization": f"Bearer {body['key']}"}))

    def _client(self, headers: dict[str, str]) -> httpx.Client:
        client = httpx.Client(base_url=self.runtime.url, headers=headers, timeout=60)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()


def upload(user: User, name: str, body: bytes, content_type: str = "text/plain", **headers: str) -> httpx.Response:
    return user.client.put(f"/api/files/{name}", content=body, headers={"content-type": content_type, **headers})


def calls(runtime: Runtime, response: httpx.Response) -> list[tuple[str, str]]:
    """The binding round trips of a request, in order (local steps such as prepare/bind left out)."""
    return [(c["binding"], c["method"]) for c in runtime.trace(response)["calls"] if not c["sync"]]


def settled(user: User, file_id: str, timeout: float = 40) -> dict:
    """The file once the consumer has finished with it (completed or failed)."""
    return wait_for(
        lambda: (f := user.client.get(f"/api/files/{file_id}").json())["status"] != "pending" and f,
        what=f"file {file_id} to leave pending",
        timeout=timeout,
    )


def now_ms() -> int:
    return int(time.time() * 1000)


def queue_calls(runtime: Runtime, since_ms: int) -> list[tuple[str, str]]:
    """The binding calls of every queue batch begun since `since_ms` (epoch ms)."""
    return [(c["binding"], c["method"]) for t in runtime.traces("queue", since_ms) for c in t["calls"]]
