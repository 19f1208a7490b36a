"""One message of the register: its facts, body and attachments (inert), what xunbao read,
the clerk actions on it, and the original as a downloadable .eml."""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.clerk import recheck, review
from pipeline.desk import previews
from pipeline.desk.auth import Context, route
from pipeline.desk.pages.common import download
from pipeline.desk.previews import Preview
from pipeline.errors import NotFound, UsageError
from pipeline.ledger import originals
from pipeline.ledger.records import MessageRecord


def message_row(context: Context, number: int) -> MessageRecord:
    row = context.ledger.message(number)
    if row is None:
        raise NotFound(f"没有编号为 {number} 的邮件。")
    return row


def view(context: Context, row: MessageRecord) -> dict[str, Any]:
    """What a message's page shows: facts, attachments made inert (in a preview process,
    previews.py), readings, its actions. A message a reader died on or that was
    quarantined is not opened again here: 无法预览, and the raw download."""
    config = context.config
    raw = originals.load(originals.folder(config), row.sha256) if row.sha256 else None
    held = recheck.rereadable(row)
    shown: Preview | None = None
    if raw is not None:
        unsafe = Preview(note="无法预览：读取这封邮件时程序异常结束，只能下载原始邮件查看。")
        shown = unsafe if held else previews.preview(config, row.sha256, raw)
    actions = [a for a in context.ledger.actions() if a.message == row.id]
    return {
        "row": row,
        "detail": row.detail,
        "mail": shown,
        "shown": shown.shown if shown else [],
        "unshown": shown.note if shown else "",
        "actions": actions,
        "kept": raw is not None,
        "rereadable": raw is not None and held,
    }


def message_page(context: Context) -> Response:
    try:
        row = message_row(context, int(context.request.path_params["number"]))
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    return context.render("message.html", nav="register", error="", reason="", **view(context, row))


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
    config = context.config
    raw = originals.load(originals.folder(config), row.sha256) if row.sha256 else None
    index, page = int(params["index"]), int(params["page"])
    if raw is None or recheck.rereadable(row):  # a mail that killed a reader is not opened
        return context.refuse("没有这个附件。", 404)
    shown = previews.preview(config, row.sha256, raw).shown
    if not 0 <= index < len(shown):
        return context.refuse("没有这个附件。", 404)
    if not 1 <= page <= shown[index].pages:
        return context.refuse("无法显示：没有这一页", 404)
    png = previews.image(config, row.sha256, raw, index, page)
    if png is None:
        return context.refuse("无法显示：这一页无法生成图片", 404)
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
    try:
        row = message_row(context, int(context.request.path_params["number"]))
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    reason = context.form.get("reason", "")
    try:
        review.reopen(context.ledger, row.id, reason, by=context.account.name)
    except UsageError as exc:  # the page again, the reason as typed, the message beside it
        page = view(context, row)
        return context.render(
            "message.html", 400, nav="register", error=str(exc), reason=reason, **page
        )
    return RedirectResponse(f"/messages/{row.id}", status_code=303)


ROUTES = [
    Route("/messages/{number:int}/reopen", route(reopen), methods=["POST"]),
    Route("/messages/{number:int}/reread", route(reread), methods=["POST"]),
    Route("/messages/{number:int}", route(message_page)),
    Route("/messages/{number:int}/original.eml", route(original)),
    Route("/messages/{number:int}/attachments/{index:int}/{page:int}.png", route(attachment_image)),
]
