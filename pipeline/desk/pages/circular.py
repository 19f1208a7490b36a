"""通报: the period's circular as it would go out now — its standings, its pages as images,
an HTML preview, the PDF and Excel to download — and sending it.

A draft is composed by the same `phase.standings_for` and `outputs.compose` as `xunbao run`
(a correction when the standings moved since issue, the last 约谈 followed up), so what a
leader signs is what is sent; it is kept in memory until anything changes.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline import issuance, outputs
from pipeline.delivery import state as delivery_state
from pipeline.desk import inert
from pipeline.desk.auth import Context, route
from pipeline.desk.cache import Memo
from pipeline.desk.pages.common import XLSX, chosen_period, download, periods
from pipeline.desk.pages.overview import standings_of
from pipeline.errors import DeliveryError, UsageError
from pipeline.issuance import phase
from pipeline.outputs import circular
from pipeline.outputs import tables as exports
from pipeline.standings import table as standings
from pipeline.standings.periods import Period

# The preview is our own composed page (everything from a mail escaped), with inline CSS and
# data: images; it may run nothing and fetch nothing.
PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class Draft:
    table: standings.Standings
    circular: circular.Circular
    pdf: bytes
    pages: int
    digest: str  # of the PDF: page images are kept, and cached by browsers, by content


_drafts: Memo[Draft] = Memo(8)
# Page images by the PDF's content: a view of 通报 asked the rasteriser for every page
# (~0.4 s each) on every visit; now once per page per change.
_images: Memo[bytes] = Memo(64)
_log = logging.getLogger("xunbao.desk")


def draft(context: Context, period: Period) -> Draft:
    """The circular of `period` from the ledger as it is now (kept while nothing changed)."""

    config, ledger = context.config, context.ledger
    now = datetime.now(UTC)

    def compose() -> Draft:
        table = standings_of(context, period)
        found = phase.state(config, ledger, period, now, table)
        composed = outputs.compose(
            config, ledger, table, issuance.correction_of(config, found, table)
        )
        pdf = composed.pdf()
        digest = hashlib.sha256(pdf).hexdigest()[:16]
        return Draft(table, composed, pdf, inert.pdf_pages(pdf), digest)

    # a correction is dated the day it would be issued: the day is part of the key
    key = (
        phase.change_digest(config, ledger),
        str(period),
        now.astimezone(config.schedule.zone).date(),
    )
    return _drafts.get(key, compose)


def _period(context: Context) -> Period:
    return chosen_period(context, context.request.path_params.get("period"))


def circular_page(context: Context) -> Response:
    period = chosen_period(context)
    made = draft(context, period)
    versions = context.ledger.versions(str(period))
    copies = [delivery_state.of_version(context.config, context.ledger, v) for v in versions]
    now = datetime.now(UTC)
    found = phase.state(context.config, context.ledger, period, now, made.table)
    return context.render(
        "circular.html",
        nav="circular",
        period=period,
        periods=periods(context),
        draft=made,
        table=made.table,
        copies={c.version: c for c in copies},
        latest=copies[-1] if copies else None,
        delivery_configured=bool(context.config.delivery.host),
        recipients=context.config.delivery.recipients,
        done=context.request.query_params.get("done", ""),
        failed=context.request.query_params.get("failed", ""),
        state=found,
        offer=offer(context, found),
        versions=versions,
        sign_off=context.config.delivery.sign_off,
    )


@dataclass(frozen=True)
class Offer:
    """The one action the period's state allows the signed-in account, if any."""

    action: str  # "sign", "send", "correct", "complete" or ""
    note: str  # what the page says instead of (or beside) the button


def offer(context: Context, found: phase.PeriodState) -> Offer:
    leader = context.account.role == "leader"
    mail = bool(context.config.delivery.host)
    if found.phase == "collecting":
        return Offer("", "截止时间未到，截止后才能签发或发送。")
    if found.phase == "awaiting_sign_off":
        return Offer("sign", "") if leader else Offer("", "等待签发领导签发。")
    if not mail:
        return Offer("", "未设置发送通报的邮件服务器，不能从这里发送。")
    if found.phase in ("issued", "corrected"):
        if found.waiting:
            action, note = "complete", f"{found.waiting} 位收件人尚未收到，可补发给他们。"
        else:
            return Offer("", "已发出，内容没有变化，无需再发。")
    elif found.latest is not None:
        action, note = "correct", f"数字与已发出的第 {found.latest.version} 版不同，可发送更正。"
    else:
        action, note = "send", ""
    if not leader:
        return Offer("", note + "发送通报须由签发领导操作。")
    return Offer(action, note)


def page_image(context: Context) -> Response:
    made = draft(context, _period(context))
    number = int(context.request.path_params["page"])
    if not 1 <= number <= made.pages:
        return context.refuse("没有这一页。", 404)
    png = _images.get((made.digest, number), lambda: inert.raster(made.pdf, number))
    # the URL names the content (?v=digest): the browser may keep it; any other is not kept
    fresh = context.request.query_params.get("v") == made.digest
    cache = "private, max-age=86400, immutable" if fresh else "no-store"
    return Response(png, media_type="image/png", headers={"cache-control": cache})


def preview(context: Context) -> Response:
    made = draft(context, _period(context))
    return Response(
        made.circular.html,
        media_type="text/html; charset=utf-8",
        headers={"content-security-policy": PREVIEW_POLICY},
    )


def pdf(context: Context) -> Response:
    period = _period(context)
    return download(draft(context, period).pdf, "application/pdf", f"通报-{period}.pdf")


def xlsx(context: Context) -> Response:
    period = _period(context)
    with tempfile.TemporaryDirectory(prefix="xunbao-desk-") as folder:
        path = exports.write_xlsx(
            draft(context, period).table,
            Path(folder) / "standings.xlsx",
            context.config.circular.issuer,
            context.config.campaign.measure,
        )
        data = path.read_bytes()
    return download(data, XLSX, f"各单位完成情况-{period}.xlsx")


def send(context: Context) -> Response:
    """发送 / 重发: the same `issuance.send_now` as a clerk's decision not to wait; pressing
    again only completes a failed send."""
    period = _period(context)
    try:
        settled = issuance.send_now(context.config, context.ledger, period, datetime.now(UTC))
    except DeliveryError as exc:
        return _failed(period, delivery_state.not_sent(exc, signed=False))
    except UsageError as exc:  # the state moved on: back to the page, saying why
        return _failed(period, str(exc))
    return _done(context, settled)


def sign(context: Context) -> Response:
    """签发: the same `issuance.sign` as `xunbao sign`, by the signed-in leader."""
    period = _period(context)
    try:
        settled = issuance.sign(
            context.config, context.ledger, period, context.account.name, datetime.now(UTC)
        )
    except DeliveryError as exc:  # signed and issued: the page says what did not go
        return _failed(period, delivery_state.not_sent(exc, signed=True))
    except UsageError as exc:
        return _failed(period, str(exc))
    return _done(context, settled, f"已由 {context.account.name} 签发。")


def _failed(period: Period, said: str) -> Response:
    query = urlencode({"period": str(period), "failed": said})
    return RedirectResponse(f"/circular?{query}", status_code=303)


def _done(context: Context, settled: issuance.Settled, first: str = "") -> Response:
    """Back to the period's page, saying what was done in the CLI's words."""
    lines = [first, *issuance.describe(context.config, settled, send=True)]
    query = urlencode({"period": str(settled.period), "done": "".join(lines)})
    return RedirectResponse(f"/circular?{query}", status_code=303)


ROUTES = [
    Route("/circular", route(circular_page)),
    Route("/circular/{period}/page/{page:int}.png", route(page_image)),
    Route("/circular/{period}/preview.html", route(preview)),
    Route("/circular/{period}/circular.pdf", route(pdf)),
    Route("/circular/{period}/standings.xlsx", route(xlsx)),
    Route("/circular/{period}/send", route(send, role="leader"), methods=["POST"]),
    Route("/circular/{period}/sign", route(sign, role="leader"), methods=["POST"]),
]
