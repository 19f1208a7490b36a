"""电话录入: a figure phoned in (or given on paper), by the same `review.record` as the CLI;
the period's entries, withdrawn ones marked, each withdrawable with a reason
(`review.withdraw`). A figure the CLI takes only with its force flag is a confirmation
step here, as in the queue: the reason, the figures compared, a required note."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.clerk import review
from pipeline.config.units import canonical_unit
from pipeline.desk.auth import Context, route
from pipeline.desk.pages.common import chosen_period, periods
from pipeline.desk.pages.queue import FIELDS, _figure
from pipeline.errors import NeedsConfirmation, UsageError
from pipeline.intake import inputs
from pipeline.ledger.records import ReportRecord


@dataclass(frozen=True)
class Entry:
    """One recorded figure as the page lists it: who recorded it, and who took it back."""

    report: ReportRecord
    recorded_by: str
    recorded_at: str
    withdrawn_by: str
    withdrawn_why: str


def entries(context: Context, period: str) -> list[Entry]:
    actions = [a for a in context.ledger.actions(period) if a.report is not None]
    found = []
    for report in context.ledger.recorded_reports():
        if report.period != period:
            continue
        mine = [a for a in actions if a.report == report.id]
        made = next((a for a in mine if a.kind == "record"), None)
        taken = next((a for a in mine if a.kind == "withdraw"), None)
        found.append(
            Entry(
                report,
                made.actor if made else "",
                made.at if made else "",
                taken.actor if taken else "",
                taken.note if taken else "",
            )
        )
    return found


def phone_page(context: Context) -> Response:
    return _page(context, str(chosen_period(context)))


def _page(context: Context, period: str, status: int = 200, **given: Any) -> Response:
    values: dict[str, Any] = {
        "unit": "",
        "value": "",
        "metric": "",
        "note": "",
        "error": "",
        "field": "",
        "check": None,
        "withdrawing": 0,
    }
    values.update(given)
    chosen = chosen_period(context, period)
    return context.render(
        "phone.html",
        status,
        nav="phone",
        period=chosen,
        periods=periods(context),
        units=[u.name for u in context.config.units],  # 其他 too: a unit like the others
        metrics=context.config.campaign.metrics,
        entries=entries(context, str(chosen)),
        done=context.request.query_params.get("done", ""),
        **values,
    )


def phone_submit(context: Context) -> Response:
    form = context.form
    period = chosen_period(context, form.get("period", ""))
    typed = {k: form.get(k, "") for k in ("unit", "value", "metric", "note")}
    confirming = form.get("confirm", "")
    try:
        value = _figure(typed["value"])
        if value is None:
            raise UsageError("请填写完成数。", "figure_missing")
        if confirming and not typed["note"].strip():
            raise UsageError("仍然录入时请写明核实情况。", "note_required")
        done = review.record(
            context.config,
            context.ledger,
            typed["unit"],
            period,
            value,
            typed["note"] or "电话报送",
            typed["metric"] or None,
            by=context.account.name,
            confirmed=[confirming] if confirming else (),
        )
    except NeedsConfirmation as check:
        return _page(context, str(period), 409, **typed, check=check)
    except UsageError as exc:
        # a confirmation sent without its note stays on screen
        shown = _check_of(context, str(period), typed) if exc.code == "note_required" else None
        field = FIELDS.get(exc.code, "")
        return _page(context, str(period), 400, **typed, error=str(exc), field=field, check=shown)
    return RedirectResponse(f"/phone?period={period}&done={done.report.unit}", status_code=303)


def _check_of(context: Context, period: str, typed: dict[str, str]) -> NeedsConfirmation | None:
    """The check the entry stopped at, found again without storing anything."""
    try:
        unit = canonical_unit(context.config, typed["unit"])
        key = review.metric_key(context.config, typed["metric"] or None)
        value = _figure(typed["value"]) or 0
        inputs.plausible(context.config, context.ledger, unit, period, value, key, False)
    except NeedsConfirmation as check:
        return check
    except UsageError:
        return None
    return None


def withdraw(context: Context) -> Response:
    """撤回 a recorded figure: the same `review.withdraw` as `xunbao records withdraw`."""
    number = int(context.request.path_params["number"])
    found = context.ledger.report(number)
    period = found.period if found else str(chosen_period(context))
    reason = context.form.get("reason", "")
    try:
        review.withdraw(context.ledger, number, reason, by=context.account.name)
    except UsageError as exc:
        field = "withdraw" if exc.code == "reason_required" else ""
        return _page(context, period, 400, error=str(exc), field=field, withdrawing=number)
    return RedirectResponse(f"/phone?period={period}", status_code=303)


ROUTES = [
    Route("/phone", route(phone_page), methods=["GET"]),
    Route("/phone", route(phone_submit), methods=["POST"]),
    Route("/phone/{number:int}/withdraw", route(withdraw), methods=["POST"]),
]
