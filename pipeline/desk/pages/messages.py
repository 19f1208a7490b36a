"""One message of the register: its facts, body and attachments (inert), what xunbao read,
the clerk actions on it, and the original as a downloadable .eml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ... import originals, recheck, review
from ...errors import NotFound
from ...mail import Mail, parse
from ...records import MessageRecord
from .. import inert
from ..auth import Context, route
from .common import download


@lru_cache(maxsize=32)
def _parsed(root: Path, sha256: str) -> Mail | None:
    """A stored original, parsed once (several images of one message need it)."""
    raw = originals.load(root, sha256)
    return parse(raw) if raw is not None else None


@lru_cache(maxsize=64)
def _shown(root: Path, sha256: str, index: int) -> inert.Shown:
    mail = _parsed(root, sha256)
    assert mail is not None
    return inert.show(mail.attachments[index])


def message_row(context: Context, number: int) -> MessageRecord:
    row = context.ledger.message(number)
    if row is None:
        raise NotFound(f"没有编号为 {number} 的邮件。")
    return row


def view(context: Context, row: MessageRecord) -> dict[str, Any]:
    """What a message's page shows: facts, attachments made inert, readings, its actions."""
    root = originals.folder(context.config)
    mail = _parsed(root, row.sha256) if row.sha256 else None
    shown = [_shown(root, row.sha256, i) for i in range(len(mail.attachments))] if mail else []
    actions = [a for a in context.ledger.actions() if a.message == row.id]
    return {
        "row": row,
        "detail": row.detail,
        "mail": mail,
        "shown": shown,
        "actions": actions,
        "kept": mail is not None,
        "rereadable": mail is not None and recheck.rereadable(row),
    }


def message_page(context: Context) -> Response:
    try:
        row = message_row(context, int(context.request.path_params["number"]))
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    return context.render("message.html", nav="register", **view(context, row))


def original(context: Context) -> Response:
    try:
        row = message_row(context, int(context.request.path_params["number"]))
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    raw = originals.load(originals.folder(context.config), row.sha256) if row.sha256 else None
    if raw is None:
        return context.refuse(
            "这封邮件的原件没有保存（在启用原件保存之前收到，或已过保留期）。", 404
        )
    # Always a download with a neutral type: the browser must never render it.
    return download(raw, "message/rfc822", f"第{row.id}号邮件.eml")


def attachment_image(context: Context) -> Response:
    params = context.request.path_params
    try:
        row = message_row(context, int(params["number"]))
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    mail = _parsed(originals.folder(context.config), row.sha256) if row.sha256 else None
    index, page = int(params["index"]), int(params["page"])
    if mail is None or not 0 <= index < len(mail.attachments):
        return context.refuse("没有这个附件。", 404)
    try:
        png = inert.image(mail.attachments[index], page)
    except ValueError as exc:
        return context.refuse(f"无法显示：{exc}", 404)
    # A picture of mail content: kept in no browser cache, like every page of the desk.
    return Response(png, media_type="image/png", headers={"cache-control": "no-store"})


def reread(context: Context) -> Response:
    """重新读取: a quarantined or crashed message read again in the sandbox (recheck.reread)."""
    try:
        row = message_row(context, int(context.request.path_params["number"]))
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    if not recheck.rereadable(row):
        return context.refuse("只有读取失败或已隔离的待审核邮件可以重新读取。", 400)
    if recheck.reread(context.config, context.ledger, row, context.account.name) is None:
        return context.refuse("这封邮件的原件没有保存，无法重新读取。", 404)
    return RedirectResponse(f"/messages/{row.id}", status_code=303)


def reopen(context: Context) -> Response:
    """重新审核: the same `review.reopen` as the CLI; its figures stop counting."""
    number = int(context.request.path_params["number"])
    review.reopen(context.ledger, number, context.form.get("reason", ""), by=context.account.name)
    return RedirectResponse(f"/messages/{number}", status_code=303)


ROUTES = [
    Route("/messages/{number:int}/reopen", route(reopen), methods=["POST"]),
    Route("/messages/{number:int}/reread", route(reread), methods=["POST"]),
    Route("/messages/{number:int}", route(message_page)),
    Route("/messages/{number:int}/original.eml", route(original)),
    Route("/messages/{number:int}/attachments/{index:int}/{page:int}.png", route(attachment_image)),
]
