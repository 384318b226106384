"""The client's address behind a reverse proxy, trusted only from configured proxies.

Rate limits and logs key on `request.remote`; behind a TLS proxy that would be the proxy
for everybody. X-Forwarded-For is believed only when the connection comes from a proxy we
run, and then the nearest address that is not one of ours is the client.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware


def client_address(remote: str, forwarded_for: str | None,
                   trusted: frozenset[str]) -> str:
    if remote not in trusted or not forwarded_for:
        return remote
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return hops[0] if hops else remote


def forwarded_middleware(trusted: frozenset[str]) -> Middleware:
    @web.middleware
    async def real_client(request: web.Request, handler: Handler) -> web.StreamResponse:
        if trusted and request.remote in trusted:
            real = client_address(request.remote, request.headers.get("X-Forwarded-For"),
                                  trusted)
            if real != request.remote:
                request = request.clone(remote=real)
        return await handler(request)

    return real_client
