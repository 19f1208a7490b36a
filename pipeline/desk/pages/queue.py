"""待审核: the review queue of a period, one message per screen, approve / reject.

Each action calls the same library function as `xunbao review approve|reject`. A check the
CLI overrides with its force flag is a second step here: the page comes back with the
check's reason, the figures it compared, a required note and 仍然计入, the clerk's input
kept. Any other refusal also re-shows the form as typed, the message beside its field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.clerk import review, sendback
from pipeline.config.units import Directory
from pipeline.desk.auth import Context, route
from pipeline.desk.pages.common import chosen_period
from pipeline.desk.pages.messages import message_row, view
from pipeline.errors import NeedsConfirmation, NotFound, UsageError
from pipeline.ledger.records import MessageRecord

# which field an error belongs beside (the rest go above the forms)
FIELDS = {
    "unit_missing": "unit",
    "unknown_unit": "unit",
    "figure_missing": "value",
    "negative": "value",
    "bad_figure": "value",
    "reason_required": "reason",
    "note_required": "note",
}


def _queue(context: Context, period: str) -> list[int]:
    return [r.id for r in context.ledger.messages(period=period, outcome="review")]


def start(context: Context) -> Response:
    """The first held message of the chosen period (or a page saying there is none)."""
    period = chosen_period(context)
    held = _queue(context, str(period))
    if held:
        return RedirectResponse(f"/queue/{period}/{held[0]}", status_code=303)
    said = context.request.query_params.get("said", "")
    return context.render("queue_empty.html", nav="queue", period=period, said=said)


def _held_in(context: Context, period: str, number: int) -> MessageRecord:
    """The message, refused unless it belongs to the period in the URL: a form or link
    left open on another period must never act on this one."""
    row = message_row(context, number)
    if row.period != period:
        raise NotFound(f"第 {number} 号邮件不属于 {period} 这一旬。")
    return row


def item(context: Context) -> Response:
    period = str(chosen_period(context, context.request.path_params["period"]))
    number = int(context.request.path_params["number"])
    try:
        row = _held_in(context, period, number)
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    return _page(context, row)


def _page(context: Context, row: MessageRecord, status: int = 200, **given: Any) -> Response:
    """The message and its decision panel; `given` holds what the clerk typed and the error
    or check to show with it, when a POST comes back."""
    period = chosen_period(context, str(row.period))
    held = _queue(context, str(period))
    position = held.index(row.id) if row.id in held else None
    said = row.detail.said
    read_figures = {k: str(v) for k, v in said.figures.items()}
    value = row.value if row.value is not None else said.value
    values: dict[str, Any] = {
        "unit": row.unit or said.unit or "",
        "value": "" if value is None else str(value),
        "figures": read_figures,
        "error": "",
        "field": "",
        "check": None,
        "confirmed": "",
        "note": "",
        "reason": "",
        # a notice is offered ticked only to a sender registered for a unit
        "notify": Directory(context.config).by_sender(row.sender) is not None,
        "said": context.request.query_params.get("said", ""),
    }
    values.update(given)
    return context.render(
        "queue.html",
        status,
        nav="queue",
        period=period,
        held=held,
        position=position,
        previous=held[position - 1] if position else None,
        following=held[position + 1] if position is not None and position + 1 < len(held) else None,
        units=[u.name for u in context.config.units],
        metrics=context.config.campaign.metrics,
        **values,
        **view(context, row),
    )


def _next(context: Context, period: str, after: int, said: str = "") -> Response:
    held = _queue(context, period)
    later = [n for n in held if n > after] or held
    target = f"/queue/{period}/{later[0]}" if later else f"/queue?period={period}"
    if said:
        target += ("&" if "?" in target else "?") + urlencode({"said": said})
    return RedirectResponse(target, status_code=303)


def _acted_on(context: Context) -> tuple[str, MessageRecord]:
    period = str(chosen_period(context, context.request.path_params["period"]))
    number = int(context.request.path_params["number"])
    return period, _held_in(context, period, number)


def approve(context: Context) -> Response:
    try:
        period, row = _acted_on(context)
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    form = context.form
    metrics = context.config.campaign.metrics
    figures = {m.key: form.get(f"value_{m.key}", "") for m in metrics}
    typed: dict[str, Any] = {
        "unit": form.get("unit", ""),
        "value": form.get("value", ""),
        "figures": figures,
        "note": form.get("note", ""),
    }
    # checks confirmed in earlier steps of this approval, one key each
    confirmed = [c for c in form.get("confirmed", "").split() if c]
    try:
        # a multi-metric form: one field per metric, an emptied one is not reported
        given = {m.key: _figure(form.get(f"value_{m.key}", "")) for m in metrics}
        confirming = form.get("confirm", "")
        if confirming:
            if not str(typed["note"]).strip():
                raise UsageError("仍然计入时请写明核实情况。", "note_required")
            confirmed.append(confirming)
        review.approve(
            context.config,
            context.ledger,
            row.id,
            str(typed["unit"]) or None,
            None if metrics else _figure(str(typed["value"])),
            values=given or None,
            by=context.account.name,
            why=str(typed["note"]),
            confirmed=confirmed,
        )
    except NeedsConfirmation as check:
        return _page(context, row, 409, **typed, check=check, confirmed=" ".join(confirmed))
    except UsageError as exc:
        # a confirmation sent without its note stays on screen
        shown = _check_of(context, row, typed, confirmed) if exc.code == "note_required" else None
        return _page(
            context,
            row,
            400,
            **typed,
            error=str(exc),
            field=FIELDS.get(exc.code, ""),
            check=shown,
            confirmed=" ".join(confirmed),
        )
    return _next(context, period, row.id)


def _check_of(
    context: Context, row: MessageRecord, typed: dict[str, Any], confirmed: list[str]
) -> NeedsConfirmation | None:
    """The check the approval stopped at, found again by a dry run (nothing stored)."""
    metrics = context.config.campaign.metrics
    try:
        review.approve(
            context.config,
            context.ledger,
            row.id,
            typed["unit"] or None,
            None if metrics else _figure(typed["value"]),
            values={m.key: _figure(typed["figures"][m.key]) for m in metrics} or None,
            confirmed=confirmed,
            dry_run=True,
        )
    except NeedsConfirmation as check:
        return check
    except UsageError:
        return None
    return None


def confirm(context: Context) -> Response:
    """数字已核实: the same `review.confirm` as `xunbao review confirm`."""
    try:
        period, row = _acted_on(context)
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    try:
        review.confirm(context.config, context.ledger, row.id, by=context.account.name)
    except UsageError as exc:
        return _page(context, row, 400, error=str(exc))
    return _next(context, period, row.id)


def reject(context: Context) -> Response:
    """驳回, or with 通知单位 ticked 退回修改 (`sendback.send_back`): the unit is told the
    reason, what to resend and by when; the page after says whether the notice went."""
    try:
        period, row = _acted_on(context)
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    form = context.form
    reason = form.get("reason", "")
    notify = form.get("notify") == "1"
    try:
        if notify:
            done = sendback.send_back(
                context.config,
                context.ledger,
                row.id,
                form.get("back_unit", ""),
                reason,
                datetime.now(UTC),
                resend=form.get("resend", ""),
                by=context.account.name,
            )
        else:
            review.reject(context.ledger, row.id, reason, by=context.account.name)
    except UsageError as exc:
        field = "reason" if exc.code == "reason_required" else ""
        field = "back_unit" if exc.code in ("unit_missing", "unknown_unit") else field
        return _page(context, row, 400, reason=reason, error=str(exc), field=field, notify=notify)
    if not notify:
        return _next(context, period, row.id)
    said = f"第 {row.id} 号邮件已退回 {done.unit}，" + (
        f"通知已发往 {done.notified}（限 {done.by_when} 前重报）。"
        if done.notified
        else f"但{done.not_sent}。"
    )
    return _next(context, period, row.id, said)


def _figure(text: str) -> int | None:
    cleaned = text.strip().replace(",", "").replace("，", "")
    if not cleaned:
        return None
    try:
        return int(cleaned)
    except ValueError:
        raise UsageError(f"完成数应为整数（收到“{text}”）。", "bad_figure") from None


ROUTES = [
    Route("/queue", route(start)),
    Route("/queue/{period}/{number:int}", route(item)),
    Route("/queue/{period}/{number:int}/approve", route(approve), methods=["POST"]),
    Route("/queue/{period}/{number:int}/confirm", route(confirm), methods=["POST"]),
    Route("/queue/{period}/{number:int}/reject", route(reject), methods=["POST"]),
]
