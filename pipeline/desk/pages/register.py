"""收件登记: every message with its outcome, filtered by period, unit and outcome; .xlsx."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from ... import register
from ...errors import UsageError
from ..auth import Context, route
from ..render import OUTCOMES
from .common import XLSX, download, periods

PAGE_SIZE = 500


def _filtered(context: Context) -> tuple[dict[str, str], list[register.Row]]:
    query = context.request.query_params
    chosen = {key: query.get(key, "") for key in ("period", "unit", "outcome")}
    if chosen["outcome"] and chosen["outcome"] not in OUTCOMES:
        raise UsageError("结果只能是 计入、待审核 或 忽略。")
    found = register.rows(
        context.ledger,
        period=chosen["period"] or None,
        outcome=chosen["outcome"] or None,
        unit=chosen["unit"] or None,
    )
    return chosen, found


def register_page(context: Context) -> Response:
    chosen, found = _filtered(context)
    page = max(int(context.request.query_params.get("page", "1") or 1), 1)
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return context.render(
        "register.html",
        nav="register",
        chosen=chosen,
        rows=shown,
        total=len(found),
        page=page,
        pages=max((len(found) + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        periods=periods(context),
        units=[u.name for u in context.config.units],
        outcomes=OUTCOMES,
    )


def register_xlsx(context: Context) -> Response:
    chosen, found = _filtered(context)
    name = f"收件登记-{chosen['period'] or '全部'}.xlsx"
    return download(register.xlsx(found), XLSX, name)


ROUTES = [
    Route("/register", route(register_page)),
    Route("/register.xlsx", route(register_xlsx)),
]
