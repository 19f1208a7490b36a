"""The desk application: routes, static files and the security headers on every response.

Starlette (with uvicorn) was chosen because it is small, well kept and typed, serves
synchronous handlers from a thread pool (the ledger is plain sqlite3) and ships a
TestClient that drives the real application over HTTP in tests.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Config
from .auth import Desk
from .gate import Gate
from .pages import circular, login, messages, overview, phone, queue, register, settings, units
from .render import Templates

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
        *settings.ROUTES,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def create_app(config: Config, config_path: Path) -> ASGIApp:
    app = Starlette(routes=routes())
    app.state.desk = Desk(config, config_path, Templates(config))
    return SecurityHeaders(Gate(app, config))
