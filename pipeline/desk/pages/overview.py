"""本旬概况: time left to the cutoff, who has reported, the queue, the completion chart."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response
from starlette.routing import Route

from pipeline.clerk import sendback
from pipeline.desk.auth import Context, route
from pipeline.desk.cache import Memo
from pipeline.desk.pages.common import chosen_period, periods
from pipeline.issuance import phase
from pipeline.outputs.chart import rate_chart
from pipeline.standings import table as standings
from pipeline.standings.periods import Period

_standings: Memo[standings.Standings] = Memo(32)


def standings_of(context: Context, period: Period) -> standings.Standings:
    """The period's standings exactly as `xunbao run` computes them (held units 待核实),
    kept while the ledger stays the same."""
    return _standings.get(
        (phase.change_digest(context.config, context.ledger), str(period)),
        lambda: phase.standings_for(context.config, context.ledger, period),
    )


def overview(context: Context) -> Response:
    period = chosen_period(context)
    table = standings_of(context, period)
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
        state=phase.state(context.config, context.ledger, period, datetime.now(UTC), table),
        reported=[s for s in table.units if s.reported],
        missing=table.having("missing"),
        queue=queue,
        sent_back=[
            o for o in sendback.open_ones(context.config, context.ledger) if o.answered_by is None
        ],
    )


def chart(context: Context) -> Response:
    table = standings_of(context, chosen_period(context, context.request.path_params["period"]))
    rows = [(s.unit, s.rate, s.status) for s in table.units]
    svg = rate_chart(rows, table.expected, "Noto Sans CJK SC")
    return Response(svg, media_type="image/svg+xml")


ROUTES = [
    Route("/overview", route(overview)),
    Route("/overview/{period}/chart.svg", route(chart)),
]
