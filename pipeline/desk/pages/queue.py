"""待审核: the review queue of a period, one message per screen, approve / reject.

Each action calls the same library function as `xunbao review approve|reject`; the route
only reads the form and moves on to the next held message.
"""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ... import review
from ...errors import UsageError
from ...records import MessageRecord
from ..auth import Context, route
from .common import chosen_period
from .messages import NotFound, message_row, view


def _queue(context: Context, period: str) -> list[int]:
    return [r.id for r in context.ledger.messages(period=period, outcome="review")]


def start(context: Context) -> Response:
    """The first held message of the chosen period (or a page saying there is none)."""
    period = chosen_period(context)
    held = _queue(context, str(period))
    if held:
        return RedirectResponse(f"/queue/{period}/{held[0]}", status_code=303)
    return context.render("queue_empty.html", nav="queue", period=period)


def _held_in(context: Context, period: str, number: int) -> MessageRecord:
    """The message, refused unless it belongs to the period in the URL: a form or link
    left open on another period must never act on this one."""
    row = message_row(context, number)
    if row.period != period:
        raise NotFound(f"第 {number} 号邮件不属于 {period} 这一旬。")
    return row


def item(context: Context) -> Response:
    period = chosen_period(context, context.request.path_params["period"])
    number = int(context.request.path_params["number"])
    try:
        row = _held_in(context, str(period), number)
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    held = _queue(context, str(period))
    position = held.index(number) if number in held else None
    reading = row.detail.get("reading", {})
    return context.render(
        "queue.html",
        nav="queue",
        period=period,
        held=held,
        position=position,
        previous=held[position - 1] if position else None,
        following=held[position + 1] if position is not None and position + 1 < len(held) else None,
        unit=row.unit or reading.get("unit") or "",
        value=row.value if row.value is not None else reading.get("value"),
        units=[u.name for u in context.config.reporting_units],
        metrics=context.config.campaign.metrics,
        figures=reading.get("figures") or {},
        **view(context, row),
    )


def _next(context: Context, period: str, after: int) -> Response:
    held = _queue(context, period)
    later = [n for n in held if n > after] or held
    target = f"/queue/{period}/{later[0]}" if later else f"/queue?period={period}"
    return RedirectResponse(target, status_code=303)


def _acted_on(context: Context) -> tuple[str, int]:
    period = str(chosen_period(context, context.request.path_params["period"]))
    number = int(context.request.path_params["number"])
    _held_in(context, period, number)
    return period, number


def approve(context: Context) -> Response:
    try:
        period, number = _acted_on(context)
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    form = context.form
    metrics = context.config.campaign.metrics
    # a multi-metric form: one field per metric, each figure as the clerk left it
    given = {m.key: _figure(form.get(f"value_{m.key}", "")) for m in metrics}
    review.approve(
        context.config,
        context.ledger,
        number,
        form.get("unit") or None,
        None if metrics else _figure(form.get("value", "")),
        values={key: value for key, value in given.items() if value is not None} or None,
    )
    return _next(context, period, number)


def confirm(context: Context) -> Response:
    """数字已核实: the same `review.confirm` as `xunbao review confirm`."""
    try:
        period, number = _acted_on(context)
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    review.confirm(context.config, context.ledger, number)
    return _next(context, period, number)


def reject(context: Context) -> Response:
    try:
        period, number = _acted_on(context)
    except NotFound as exc:
        return context.refuse(str(exc), 404)
    review.reject(context.ledger, number, context.form.get("reason", ""))
    return _next(context, period, number)


def _figure(text: str) -> int | None:
    cleaned = text.strip().replace(",", "").replace("，", "")
    if not cleaned:
        return None
    try:
        return int(cleaned)
    except ValueError:
        raise UsageError(f"完成数应为整数（收到 {text!r}）。") from None


ROUTES = [
    Route("/queue", route(start)),
    Route("/queue/{period}/{number:int}", route(item)),
    Route("/queue/{period}/{number:int}/approve", route(approve), methods=["POST"]),
    Route("/queue/{period}/{number:int}/confirm", route(confirm), methods=["POST"]),
    Route("/queue/{period}/{number:int}/reject", route(reject), methods=["POST"]),
]
