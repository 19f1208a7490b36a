"""本旬概况: time left to the cutoff, who has reported, the queue, the completion chart."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response
from starlette.routing import Route

from ... import standings
from ...chart import rate_chart
from ..auth import Context, route
from .common import chosen_period, periods


def _standings(context: Context, text: str | None = None) -> standings.Standings:
    period = chosen_period(context, text)
    return standings.compute(context.config, context.ledger.reports(str(period)), period)


def overview(context: Context) -> Response:
    table = _standings(context)
    period = table.period
    cutoff = period.cutoff(context.config.schedule)
    left = cutoff - datetime.now(UTC)
    queue = context.ledger.messages(period=str(period), outcome="review")
    return context.render(
        "overview.html",
        nav="overview",
        period=period,
        periods=periods(context),
        table=table,
        cutoff=cutoff,
        hours_left=max(left.total_seconds(), 0) / 3600,
        closed=left.total_seconds() <= 0,
        state="已截止" if left.total_seconds() <= 0 else "收集中",
        reported=[s for s in table.units if s.reported],
        missing=table.having("missing"),
        queue=queue,
    )


def chart(context: Context) -> Response:
    table = _standings(context, context.request.path_params["period"])
    rows = [(s.unit, s.rate, s.status) for s in table.units]
    svg = rate_chart(rows, table.expected, "Noto Sans CJK SC")
    return Response(svg, media_type="image/svg+xml")


ROUTES = [
    Route("/overview", route(overview)),
    Route("/overview/{period}/chart.svg", route(chart)),
]
