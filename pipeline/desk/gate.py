"""The desk's front door, before any route: the host name asked for, and who is asking.

Forwarded headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from an address
in `desk.trusted_proxies` (none by default), so a browser cannot claim another address to
slip the login throttle; the scheme they carry is what marks cookies Secure. Only the host
names in `desk.hosts` (and the address the desk listens on, and localhost) are answered, so
a page fetched under a name nobody configured (DNS rebinding) gets nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import Config

LOCAL = ("localhost", "127.0.0.1", "::1")
REFUSED = "不是本审核台配置的访问地址（desk.hosts），请使用管理员告知的地址访问。".encode()


class Gate:
    def __init__(self, app: ASGIApp, config: Config) -> None:
        self.app = app
        desk = config.desk
        self.hosts = {h.lower() for h in (*desk.hosts, desk.host, *LOCAL) if h}
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in desk.trusted_proxies]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if _name(headers.get("host", "")) not in self.hosts:
            await _refuse(send)
            return
        client = scope.get("client")
        if client and self._trusted(client[0]):
            scope = dict(scope)
            chain = [a.strip() for a in headers.get("x-forwarded-for", "").split(",") if a.strip()]
            address = _first_untrusted(chain, self._trusted)
            if address:
                scope["client"] = (address, 0)
            proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto
        await self.app(scope, receive, send)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.proxies)


def _first_untrusted(chain: list[str], trusted: object) -> str:
    """The nearest address in X-Forwarded-For that is not one of our proxies."""
    assert callable(trusted)
    for address in reversed(chain):
        if not trusted(address):
            return address
    return chain[0] if chain else ""


def _name(host: str) -> str:
    """'desk.lan:443' → 'desk.lan'; '[::1]:8700' → '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


async def _refuse(send: Send) -> None:
    headers: Iterable[tuple[bytes, bytes]] = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(REFUSED)).encode()),
    ]
    await send({"type": "http.response.start", "status": 421, "headers": list(headers)})
    await send({"type": "http.response.body", "body": REFUSED})
