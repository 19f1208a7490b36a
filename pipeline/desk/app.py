"""The desk application: routes, static files and the security headers on every response.

Starlette (with uvicorn) was chosen because it is small, well kept and typed, serves
synchronous handlers from a thread pool (the ledger is plain sqlite3) and ships a
TestClient that drives the real application over HTTP in tests.

The front door (`Gate`), before any route: the host name asked for, and who is asking.
Forwarded headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from an address
in `desk.trusted_proxies` (none by default), so a browser cannot claim another address to
slip the login throttle; the scheme they carry is what marks cookies Secure. Only the host
names in `desk.hosts` (and the address the desk listens on, and localhost) are answered, so
a page fetched under a name nobody configured (DNS rebinding) gets nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.config import Config
from pipeline.desk.auth import Desk
from pipeline.desk.pages import (
    circular,
    login,
    messages,
    overview,
    phone,
    queue,
    register,
    settings,
    units,
)
from pipeline.desk.pages import talks as talk_pages
from pipeline.desk.render import Templates

STATIC = Path(__file__).resolve().parent / "static"
# Only the desk's own script, style and images; nothing from a mail can run or be framed.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"
)
HEADERS = {
    b"content-security-policy": POLICY.encode(),
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"cross-origin-opener-policy": b"same-origin",
    b"cross-origin-resource-policy": b"same-origin",
}


class SecurityHeaders:
    """Adds HEADERS to every response that does not set its own (the circular preview
    sets a stricter policy of its own); pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS.items() if k not in present]
                if b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


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


def _home(request: object) -> Response:
    return RedirectResponse("/overview", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/", _home),
        *login.ROUTES,
        *overview.ROUTES,
        *register.ROUTES,
        *messages.ROUTES,
        *queue.ROUTES,
        *phone.ROUTES,
        *units.ROUTES,
        *circular.ROUTES,
        *talk_pages.ROUTES,
        *settings.ROUTES,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def create_app(config: Config, config_path: Path) -> ASGIApp:
    app = Starlette(routes=routes())
    app.state.desk = Desk(config, config_path, Templates(config))
    return SecurityHeaders(Gate(app, config))
