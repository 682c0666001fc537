import json
import time
from urllib.parse import parse_qs, urlparse

from workers import DurableObject, Response, WorkerEntrypoint


def as_json(value, status=200):
    return Response(json.dumps(value), status=status, headers={"content-type": "application/json"})


class Counter(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (n INTEGER NOT NULL)")

    async def increment(self, by):
        self.ctx.storage.sql.exec("INSERT INTO hits (n) VALUES (?)", by)
        await self.ctx.storage.put("last", by)
        return self.total()

    def total(self):
        return self.ctx.storage.sql.exec("SELECT COALESCE(SUM(n), 0) AS total FROM hits").one()["total"]

    async def snapshot(self):
        return {"total": self.total(), "last": await self.ctx.storage.get("last")}

    async def fetch(self, request):
        return as_json({"path": urlparse(request.url).path, "total": self.total()})

    async def schedule_alarm(self, delay_ms):
        await self.ctx.storage.setAlarm(time.time() * 1000 + delay_ms)

    async def alarm(self, alarm_info=None):
        self.ctx.storage.sql.exec("INSERT INTO hits (n) VALUES (100)")


async def record(env, kind, detail, note=None):
    await env.DB.prepare("INSERT INTO events (kind, detail, note) VALUES (?, ?, ?)").bind(kind, detail, note).run()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        url = urlparse(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        route = url.path
        env = self.env
        if route == "/vars":
            return as_json({"greeting": env.GREETING, "secret": getattr(env, "PROBE_SECRET", None)})
        if route == "/d1/null":
            await record(env, "null-check", None)
            row = await env.DB.prepare(
                "SELECT detail IS NULL AS is_null, typeof(detail) AS type FROM events"
                " WHERE kind = 'null-check' ORDER BY id DESC LIMIT 1"
            ).first()
            return as_json({"is_null": row.is_null, "type": row.type})
        if route == "/d1/batch":
            stmt = env.DB.prepare("INSERT INTO events (kind, detail) VALUES (?, ?)")
            await env.DB.batch([stmt.bind("batch", "a"), stmt.bind("batch", "b")])
            result = await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE kind = 'batch'").first()
            return as_json({"count": result.n})
        if route == "/events":
            result = (
                await env.DB.prepare("SELECT kind, detail, note FROM events WHERE kind = ? ORDER BY id")
                .bind(query["kind"])
                .all()
            )
            return as_json(result.results)
        if route.startswith("/r2/"):
            key = route.removeprefix("/r2/")
            if request.method == "PUT":
                obj = await env.FILES.put(
                    key, request.body, httpMetadata={"contentType": request.headers.get("content-type")}
                )
                return as_json({"key": obj.key, "size": obj.size, "etag": obj.etag})
            obj = await env.FILES.get(key)
            if obj is None:
                return as_json({"error": "missing"}, 404)
            return Response(obj.body, headers={"etag": obj.httpEtag, "content-length": str(obj.size)})
        if route.startswith("/kv/"):
            key = route.removeprefix("/kv/")
            if request.method == "PUT":
                await env.KV.put(key, await request.text(), expirationTtl=60)
                return as_json({"ok": True})
            return as_json({"value": await env.KV.get(key)})
        if route == "/queue":
            await env.JOBS.send({"tag": query["tag"], "mode": query.get("mode", "ack")})
            return as_json({"sent": query["tag"]}, 202)
        if route == "/queue-batch":
            tags = [f"{query['tag']}-{i}" for i in range(3)]
            await env.JOBS.sendBatch([{"body": {"tag": tag, "mode": "ack"}} for tag in tags])
            return as_json({"sent": tags}, 202)
        if route == "/do/increment":
            stub = env.COUNTER.getByName(query["name"])
            return as_json({"total": await stub.increment(int(query.get("by", "1")))})
        if route == "/do/snapshot":
            stub = env.COUNTER.get(env.COUNTER.idFromName(query["name"]))
            return as_json(await stub.snapshot())
        if route == "/do/fetch":
            stub = env.COUNTER.getByName(query["name"])
            response = await stub.fetch("https://counter/total")
            return as_json(await response.json())
        if route == "/ai":
            embedded = await env.AI.run("@cf/baai/bge-base-en-v1.5", {"text": ["red apple", "green apple"]})
            answer = await env.AI.run("@cf/meta/llama-3.1-8b-instruct-fast", {"prompt": "say hi"})
            return as_json({"shape": embedded["shape"], "response": answer["response"]})
        if route == "/do/alarm":
            await env.COUNTER.getByName(query["name"]).schedule_alarm(int(query.get("ms", "50")))
            return as_json({"scheduled": True})
        if route == "/echo":
            body = {
                "method": str(request.method),
                "header": request.headers.get("x-probe"),
                "colo": request.cf.colo,
                "body": await request.text(),
            }
            return Response(json.dumps(body), status=207, headers={"x-echo": "yes", "content-type": "application/json"})
        if route == "/ai/stream":
            stream = await env.AI.run(
                "@cf/meta/llama-3.1-8b-instruct-fast", {"prompt": "stream these words", "stream": True}
            )
            return Response(stream, headers={"content-type": "text/event-stream"})
        if route == "/raise":
            raise RuntimeError("secret internal detail")
        if route == "/missing-binding":
            return as_json({"has": hasattr(env, "NOT_DECLARED")})
        if route == "/wait-until":
            self.ctx.waitUntil(record(env, "wait-until", query["tag"]))
            return as_json({"scheduled": True})
        return as_json({"error": "no route"}, 404)

    async def queue(self, batch, env, ctx):
        for message in batch.messages:
            body = message.body
            if batch.queue == "probe-dlq":
                await record(self.env, "dead-letter", body["tag"], str(message.attempts))
                message.ack()
            elif body["mode"] == "retry-all":
                await record(self.env, "attempt", body["tag"], str(message.attempts))
                batch.retryAll(delaySeconds=0)
            elif body["mode"] == "retry":
                await record(self.env, "attempt", body["tag"], str(message.attempts))
                message.retry(delaySeconds=0)
            else:
                await record(self.env, "consumed", body["tag"], str(message.attempts))
                message.ack()

    # Called strictly with (event, env, ctx); env and ctx are None for a class entrypoint.
    async def scheduled(self, controller, env, ctx):
        await record(self.env, "scheduled", controller.cron)
