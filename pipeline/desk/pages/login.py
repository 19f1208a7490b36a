"""登录 / 退出. The login form carries its own CSRF token (a cookie and a hidden field
that must match), since there is no session yet to hold one."""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.clerk import accounts
from pipeline.desk.auth import COOKIE, LOGIN_COOKIE, Context, Desk, route


def _safe_next(target: str) -> str:
    # Only a path of this site: never an address elsewhere (open redirect).
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/overview"


def _secure(request: Request) -> bool:
    """Cookies travel only over HTTPS when configured, or whenever the request came so."""
    desk: Desk = request.app.state.desk
    return desk.config.desk.secure_cookies or request.url.scheme == "https"


def _form(request: Request, next_path: str, message: str = "", status_code: int = 200) -> Response:
    desk: Desk = request.app.state.desk
    token = secrets.token_urlsafe(32)
    response = desk.templates.bare(
        "login.html", status_code, login_csrf=token, next=_safe_next(next_path), message=message
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=_secure(request),
    )
    return response


async def login_page(request: Request) -> Response:
    return _form(request, request.query_params.get("next", "/overview"))


async def login_submit(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    data = await request.form()
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, form.get("csrf", "")):
        return _form(request, form.get("next", ""), "页面已过期，请重新输入。", 403)
    address = request.client.host if request.client else ""

    def attempt() -> accounts.Session:
        with desk.ledger() as ledger:
            return accounts.login(
                ledger,
                desk.config.desk,
                form.get("name", "").strip(),
                form.get("password", ""),
                address,
            )

    try:
        session = await run_in_threadpool(attempt)
    except accounts.LoginRefused as exc:
        return _form(request, form.get("next", ""), str(exc), 401)
    response = RedirectResponse(_safe_next(form.get("next", "")), status_code=303)
    response.set_cookie(
        COOKIE,
        session.token,
        max_age=int(desk.config.desk.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def logout(context: Context) -> Response:
    accounts.logout(context.ledger, context.session.token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", route(logout), methods=["POST"]),
]
