"""收件登记: every message with its outcome, filtered by period, unit and outcome; .xlsx."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from pipeline.clerk import sendback
from pipeline.desk.auth import Context, route
from pipeline.desk.pages.common import XLSX, download, periods
from pipeline.desk.render import OUTCOMES
from pipeline.errors import UsageError
from pipeline.outputs import register

PAGE_SIZE = 200


def _filters(context: Context) -> dict[str, str]:
    query = context.request.query_params
    chosen = {key: query.get(key, "") for key in ("period", "unit", "outcome")}
    if chosen["outcome"] and chosen["outcome"] not in OUTCOMES:
        raise UsageError("结果只能是 计入、待审核 或 忽略。")
    return chosen


def _given(chosen: dict[str, str]) -> dict[str, str | None]:
    return {key: value or None for key, value in chosen.items()}


def _rows(context: Context, chosen: dict[str, str], page: int | None = None) -> list[register.Row]:
    given = _given(chosen)
    return register.rows(
        context.ledger,
        period=given["period"],
        outcome=given["outcome"],
        unit=given["unit"],
        page=(PAGE_SIZE, (page - 1) * PAGE_SIZE) if page else None,
        notes=sendback.notes(context.config, context.ledger),
    )


def register_page(context: Context) -> Response:
    chosen = _filters(context)
    total = context.ledger.count_messages(**_given(chosen))
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    text = context.request.query_params.get("page", "1")
    page = min(max(int(text), 1), pages) if text.isdigit() else 1
    shown = _rows(context, chosen, page)
    return context.render(
        "register.html",
        nav="register",
        chosen=chosen,
        rows=shown,
        total=total,
        page=page,
        pages=pages,
        periods=periods(context),
        units=[u.name for u in context.config.units],
        outcomes=OUTCOMES,
    )


def register_xlsx(context: Context) -> Response:
    chosen = _filters(context)
    found = _rows(context, chosen)
    name = f"收件登记-{chosen['period'] or '全部'}.xlsx"
    return download(register.xlsx(found, context.config), XLSX, name)


ROUTES = [
    Route("/register", route(register_page)),
    Route("/register.xlsx", route(register_xlsx)),
]
