"""单位: the list of units, and one unit's history: every report and action, with its trend."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from pipeline.clerk import sendback
from pipeline.desk.auth import Context, route
from pipeline.outputs import register


def units_page(context: Context) -> Response:
    return context.render("units.html", nav="units", units=context.config.units)


def unit_page(context: Context) -> Response:
    name = context.request.path_params["name"]
    try:
        unit = context.config.unit(name)
    except KeyError:
        return context.refuse(f"没有单位 {name}。", 404)
    mine = context.ledger.reports("9999-12-31", unit=unit.name)  # every period
    # The unit's last word in each period (latest arrival), oldest period first.
    latest = mine.sort_values(["arrival", "id"]).groupby(["period", "metric"]).tail(1)
    trend = []
    before: dict[str, int] = {}  # metric → the previous period's figure
    for row in latest.sort_values("period").to_dict("records"):
        value, metric = int(row["value"]), str(row["metric"])
        change = value - before[metric] if metric in before else None
        trend.append({**row, "value": value, "change": change})
        before[metric] = value
    return context.render(
        "unit.html",
        nav="units",
        unit=unit,
        trend=trend,
        messages=register.rows(
            context.ledger, unit=unit.name, notes=sendback.notes(context.config, context.ledger)
        ),
        actions=[a for a in context.ledger.actions() if a.unit == unit.name],
    )


ROUTES = [
    Route("/units", route(units_page)),
    Route("/units/{name}", route(unit_page)),
]
