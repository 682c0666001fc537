// WebSockets (issue 14): an upgrade reaches the Worker's fetch, a 101 Response with a webSocket
// joins the client to it (workerd api/web-socket.h, api/http.c++), and a Python Durable Object
// uses the WebSocket Hibernation API as workerd offers it (api/actor-state.h): acceptWebSocket
// with tags, webSocketMessage / webSocketClose handlers called strictly, attachments, getWebSockets,
// setWebSocketAutoResponse. The object can be evicted while its sockets stay open and is built
// again for the next message; an auto-response answers without waking it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { startWorker, wranglerToml } from "../testing/worker-process.mjs";

const ENTRY = `
import json

from js import WebSocketPair, WebSocketRequestResponsePair
from pyodide.ffi import create_proxy, to_js
from workers import DurableObject, Response, WorkerEntrypoint


class Room(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.sql = ctx.storage.sql
        self.sql.exec("CREATE TABLE IF NOT EXISTS events (kind TEXT, detail TEXT)")
        self.sql.exec("INSERT INTO events VALUES ('constructed', '')")
        ctx.setWebSocketAutoResponse(WebSocketRequestResponsePair.new("ping", "pong"))

    async def fetch(self, request):
        client, server = WebSocketPair.new().object_values()
        user = request.headers.get("x-user") or "anonymous"
        self.ctx.acceptWebSocket(server, ["room", user])
        server.serializeAttachment(to_js({"user": user}, dict_converter=__import__("js").Object.fromEntries))
        headers = {"sec-websocket-protocol": "edgefiles.v1"} if request.headers.get("sec-websocket-protocol") else {}
        return Response(None, status=101, web_socket=client, headers=headers)

    async def webSocketMessage(self, ws, message):
        user = ws.deserializeAttachment().user
        if message == "constructions":
            n = self.sql.exec("SELECT COUNT(*) AS n FROM events WHERE kind = 'constructed'").one().n
            ws.send(str(n))
        elif message == "broadcast":
            for other in self.ctx.getWebSockets("room"):
                other.send(f"{user} says hi")
        elif message == "tags":
            ws.send(json.dumps(list(self.ctx.getTags(ws))))
        elif message == "too-big":
            try:
                ws.serializeAttachment("x" * 17000)
                ws.send("stored")
            except Exception as error:
                ws.send(str(error))
        elif isinstance(message, str):
            ws.send(f"{user}: {message}")
        else:
            ws.send(f"{user} sent {len(bytes(message.to_py()))} bytes")

    async def webSocketClose(self, ws, code, reason, was_clean):
        self.sql.exec("INSERT INTO events VALUES ('close', ?)", json.dumps([code, reason, bool(was_clean)]))

    def closes(self):
        rows = self.sql.exec("SELECT detail FROM events WHERE kind = 'close'").toArray()
        return [row.detail for row in rows]


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = request.url.split("/", 3)[3]
        stub = self.env.ROOM.getByName("lobby")
        if path == "room":
            if request.headers.get("upgrade") != "websocket":
                return Response("expected a WebSocket", status=426)
            return await stub.fetch(request)
        if path == "closes":
            return Response(json.dumps(list(await stub.closes())))
        if path == "plain":
            client, server = WebSocketPair.new().object_values()
            server.accept()
            server.addEventListener("message", create_proxy(lambda event: server.send("plain " + event.data)))
            server.send("sent before the 101")
            return Response(None, status=101, web_socket=client)
        return Response("no such route", status=404)
`;

let worker;

before(async () => {
  worker = await startWorker({ wrangler: wranglerToml({ name: "sockets", durableObjects: { ROOM: "Room" } }), entry: ENTRY, args: ["--test-mode"] });
});

after(() => worker?.stop());

function connect(path, headers = {}, protocols = undefined) {
  const url = `${worker.url.replace("http", "ws")}/${path}`;
  const socket = new WebSocket(url, protocols, { headers });
  const inbox = [];
  const waiting = [];
  socket.on("message", (data, isBinary) => {
    const text = isBinary ? data : data.toString();
    const next = waiting.shift();
    if (next) next(text);
    else inbox.push(text);
  });
  return new Promise((resolve, reject) => {
    socket.once("open", () =>
      resolve({
        socket,
        next: (timeoutMs = 5000) =>
          inbox.length
            ? Promise.resolve(inbox.shift())
            : new Promise((ok, fail) => {
                const timer = setTimeout(() => fail(new Error("no message within the time")), timeoutMs);
                waiting.push((message) => (clearTimeout(timer), ok(message)));
              }),
        ask: async (message) => {
          socket.send(message);
          return await (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((ok) => waiting.push(ok)));
        },
      }),
    );
    socket.once("unexpected-response", (_, response) => reject(Object.assign(new Error("not upgraded"), { status: response.statusCode })));
    socket.once("error", reject);
  });
}

const evict = async () => (await (await fetch(`${worker.url}/__runtime/durable-objects/evict`, { method: "POST" })).json()).evicted;

test("an upgrade forwarded to a Durable Object joins the client to the socket the object accepted", async () => {
  const alice = await connect("room", { "x-user": "alice" });
  assert.equal(await alice.ask("hello"), "alice: hello");
  assert.deepEqual(JSON.parse(await alice.ask("tags")), ["room", "alice"]);
  alice.socket.send(Buffer.from([1, 2, 3]));
  assert.equal(await alice.next(), "alice sent 3 bytes");
  alice.socket.close();
});

test("getWebSockets reaches every socket the object holds", async () => {
  const alice = await connect("room", { "x-user": "alice" });
  const bob = await connect("room", { "x-user": "bob" });
  alice.socket.send("broadcast");
  assert.equal(await alice.next(), "alice says hi");
  assert.equal(await bob.next(), "alice says hi");
  alice.socket.close();
  bob.socket.close();
});

test("an evicted object is built again for the next message; attachments and sockets survive", async () => {
  const carol = await connect("room", { "x-user": "carol" });
  const before = Number(await carol.ask("constructions"));
  assert.ok((await evict()) >= 1);
  assert.equal(await carol.ask("still there?"), "carol: still there?");
  assert.equal(Number(await carol.ask("constructions")), before + 1);
  carol.socket.close();
});

test("an auto-response answers without waking the object", async () => {
  const dave = await connect("room", { "x-user": "dave" });
  const before = Number(await dave.ask("constructions"));
  assert.ok((await evict()) >= 1);
  for (let i = 0; i < 5; i++) assert.equal(await dave.ask("ping"), "pong");
  // Only this message wakes it: one construction, not six.
  assert.equal(Number(await dave.ask("constructions")), before + 1);
  dave.socket.close();
});

test("a client's close reaches webSocketClose with its code and reason", async () => {
  const erin = await connect("room", { "x-user": "erin" });
  await erin.ask("hello");
  erin.socket.close(4001, "bye");
  await new Promise((resolve) => erin.socket.once("close", resolve));
  let closes = [];
  for (let i = 0; i < 50 && !closes.some((c) => JSON.parse(c)[0] === 4001); i++) {
    closes = await (await fetch(`${worker.url}/closes`)).json();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(closes.some((c) => JSON.stringify(JSON.parse(c)) === JSON.stringify([4001, "bye", true])), closes.join(" "));
});

test("limits: attachments of at most 16 KiB", async () => {
  const frank = await connect("room", { "x-user": "frank" });
  assert.match(await frank.ask("too-big"), /A WebSocket 'attachment' cannot be larger than 16384 bytes/);
  frank.socket.close();
});

test("the Worker's subprotocol is the one the handshake agrees", async () => {
  const client = await connect("room", { "x-user": "gina" }, ["edgefiles.v1", "other"]);
  assert.equal(client.socket.protocol, "edgefiles.v1");
  client.socket.close();
});

test("a non-101 answer to an upgrade reaches the client as that response", async () => {
  await assert.rejects(connect("nowhere"), (error) => error.status === 404);
});

test("a 101 to a request that is not an upgrade is an error, and the object hears the socket close", async () => {
  const { request } = await import("node:http");
  const status = await new Promise((resolve, reject) => {
    const req = request(`${worker.url}/room`, { headers: { upgrade: "websocket", "x-user": "ivan" } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", reject);
    req.end();
  });
  assert.equal(status, 500);
  await worker.waitForOutput(/answered 101 to a request that is not a WebSocket upgrade/);
  let closes = [];
  for (let i = 0; i < 50 && !closes.some((c) => JSON.parse(c)[0] === 1011); i++) {
    closes = await (await fetch(`${worker.url}/closes`)).json();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(closes.some((c) => JSON.parse(c)[0] === 1011), closes.join(" "));
});

test("a socket the Worker accepts itself gets message events, and what it sent first arrives first", async () => {
  const client = await connect("plain");
  assert.equal(await client.next(), "sent before the 101");
  assert.equal(await client.ask("one"), "plain one");
  assert.equal(await client.ask("two"), "plain two");
  client.socket.close();
});
