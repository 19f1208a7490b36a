"""约谈记录: for each issued circular, the units it summoned and the record of each talk,
entered by the same `talks.record` as `xunbao talk record`."""

from __future__ import annotations

from datetime import date

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.clerk import talks
from pipeline.desk.auth import Context, route
from pipeline.errors import UsageError
from pipeline.ledger.talks import Talk


def _chosen(context: Context, summons: dict[str, frozenset[str]], given: str) -> str | None:
    if given:
        if given not in summons:
            raise UsageError(f"{given} 没有已发出的通报。")
        return given
    with_talks = [p for p, units in summons.items() if units]
    return max(with_talks) if with_talks else None


def talks_page(context: Context) -> Response:
    summons = context.ledger.issued_summons()
    period = _chosen(context, summons, context.request.query_params.get("period", ""))
    kept = {t.unit: t for t in context.ledger.talks(period)} if period else {}
    return context.render(
        "talks.html",
        nav="talks",
        periods=sorted((p for p, units in summons.items() if units), reverse=True),
        period=period,
        summoned=sorted(summons.get(period, frozenset())) if period else [],
        kept=kept,
        done=context.request.query_params.get("done", ""),
    )


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"请按 YYYY-MM-DD 填写{what}（收到 {text!r}）。") from None


def talks_submit(context: Context) -> Response:
    form = context.form
    deadline = form.get("deadline", "").strip()
    entry = Talk(
        period=form.get("period", ""),
        unit=form.get("unit", ""),
        held_on=_day(form.get("held_on", ""), "约谈日期"),
        attendees=form.get("attendees", ""),
        measures=form.get("measures", ""),
        deadline=_day(deadline, "整改期限") if deadline else None,
        recorded_by=context.account.name,
    )
    kept = talks.record(context.config, context.ledger, entry)
    return RedirectResponse(f"/talks?period={kept.period}&done={kept.unit}", status_code=303)


ROUTES = [
    Route("/talks", route(talks_page), methods=["GET"]),
    Route("/talks", route(talks_submit), methods=["POST"]),
]
