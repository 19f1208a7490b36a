"""电话录入: a figure phoned in (or given on paper), by the same `review.record` as the CLI."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ... import review
from ..auth import Context, route
from .common import chosen_period, periods
from .queue import _figure


def phone_page(context: Context) -> Response:
    period = chosen_period(context)
    recorded = [
        a for a in context.ledger.actions() if a.kind == "record" and a.period == str(period)
    ]
    return context.render(
        "phone.html",
        nav="phone",
        period=period,
        periods=periods(context),
        units=[u.name for u in context.config.reporting_units],
        metrics=context.config.campaign.metrics,
        recorded=recorded,
        done=context.request.query_params.get("done", ""),
    )


def phone_submit(context: Context) -> Response:
    form = context.form
    period = chosen_period(context, form.get("period", ""))
    value = _figure(form.get("value", ""))
    if value is None:
        return context.refuse("请填写完成数。")
    done = review.record(
        context.config,
        context.ledger,
        form.get("unit", ""),
        period,
        value,
        form.get("note", "") or "电话报送",
        form.get("metric") or None,
    )
    return RedirectResponse(f"/phone?period={period}&done={done.report.unit}", status_code=303)


ROUTES = [
    Route("/phone", route(phone_page), methods=["GET"]),
    Route("/phone", route(phone_submit), methods=["POST"]),
]
