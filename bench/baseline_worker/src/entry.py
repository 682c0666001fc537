"""Baseline Worker: each route does only the binding call edgefiles' route is measured against."""

from urllib.parse import urlparse

from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = urlparse(request.url).path
        if path.startswith("/upload/"):
            await self.env.STORAGE.put(path.removeprefix("/upload/"), request.body)
            return Response("", status=201)
        if path.startswith("/cached/"):
            key = path.removeprefix("/cached/")
            if request.method == "PUT":
                await self.env.CACHE.put(key, await request.text(), {"expirationTtl": 3600})
                return Response("", status=201)
            return Response(await self.env.CACHE.get(key) or "")
        if path == "/enqueue":
            await self.env.QUEUE.sendBatch([{"body": {"n": i}} for i in range(100)])
            return Response("", status=202)
        return Response("not found", status=404)

    async def queue(self, batch, env, ctx):
        batch.ackAll()
