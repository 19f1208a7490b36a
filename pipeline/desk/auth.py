"""Every desk route goes through `route`: it finds the session, checks role and CSRF token,
opens the ledger as the signed-in account, and runs the (synchronous) handler in a thread.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pipeline import config as config_module
from pipeline.clerk import accounts
from pipeline.clerk.accounts import Account, Role, Session
from pipeline.config import Config
from pipeline.desk.render import Templates
from pipeline.errors import NotFound, XunbaoError
from pipeline.ledger import Ledger

COOKIE = "xunbao_session"
LOGIN_COOKIE = "xunbao_login"  # the login form's CSRF token, before there is a session


@dataclass
class Desk:
    """What the whole application shares: the config and the templates. An edit of
    config.yaml is picked up on the next request when the file checks out; a file with
    errors leaves the desk on the config it has (the 配置 page lists the errors)."""

    config: Config
    config_path: Path
    templates: Templates
    stamp: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self.stamp = _stamp(self.config_path)

    def refresh(self) -> None:
        stamp = _stamp(self.config_path)
        if stamp == self.stamp:
            return
        self.stamp = stamp
        try:
            fresh = config_module.load(self.config_path).config
        except XunbaoError:
            return
        # where it listens and which host names it answers are fixed at start (app.Gate)
        fresh = fresh.model_copy(update={"desk": self.config.desk})
        self.config, self.templates = fresh, Templates(fresh)

    def ledger(self, actor: str = "") -> Ledger:
        return Ledger(self.config.resolve(self.config.storage.path), actor=actor or "审核台")


@dataclass
class Context:
    """One request as a handler sees it."""

    request: Request
    desk: Desk
    ledger: Ledger
    session: Session
    form: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        return self.desk.config

    @property
    def account(self) -> Account:
        return self.session.account

    def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return self.desk.templates.page(
            template, status_code, account=self.account, csrf=self.session.csrf, **values
        )

    def refuse(self, message: str, status_code: int = 400) -> HTMLResponse:
        """A refusal page with a way back to where the person was: after a POST to
        /queue/P/N/approve that is /queue/P/N (the form), not only 本旬概况."""
        back = _back(self.request.url.path) if self.request.method == "POST" else ""
        return self.render("refused.html", status_code, message=message, back=back)


Handler = Callable[[Context], Response]


def route(handler: Handler, role: Role | None = None) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a page handler: sign-in, role and (for POST) the CSRF token come first."""

    async def endpoint(request: Request) -> Response:
        desk: Desk = request.app.state.desk
        form: dict[str, str] = {}
        if request.method == "POST":
            data = await request.form()
            form = {k: v for k, v in data.items() if isinstance(v, str)}
        return await run_in_threadpool(_handle, handler, role, request, desk, form)

    return endpoint


def _handle(
    handler: Handler, role: Role | None, request: Request, desk: Desk, form: dict[str, str]
) -> Response:
    desk.refresh()
    with desk.ledger() as lookup:
        session = accounts.session(lookup, request.cookies.get(COOKIE, ""))
    if session is None:
        if request.method == "GET":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return desk.templates.bare("refused.html", 401, message="未登录或登录已过期，请重新登录。")
    if request.method == "POST" and not secrets.compare_digest(
        form.get("csrf", "").encode(), session.csrf.encode()
    ):
        return desk.templates.bare("refused.html", 403, message="表单已过期，请刷新页面后重试。")
    with desk.ledger(actor=session.account.name) as ledger:
        context = Context(request, desk, ledger, session, form)
        if role is not None and session.account.role != role:
            who = accounts.ROLE_NAMES[role]
            return context.refuse(f"只有{who}可以进行此操作。", 403)
        try:
            return handler(context)
        except XunbaoError as exc:  # the library's Chinese message, shown as it is
            return context.refuse(str(exc), 404 if isinstance(exc, NotFound) else 400)


def _back(path: str) -> str:
    """The page a POST to `path` was sent from."""
    parts = path.strip("/").split("/")
    if parts[0] == "circular" and len(parts) > 1:
        return f"/circular?period={parts[1]}"
    if parts[0] in ("queue", "messages") and len(parts) > 2:
        return "/" + "/".join(parts[:-1])
    return "/phone" if parts[0] == "phone" else ""


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)
