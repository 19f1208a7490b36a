"""What several pages share: which period is shown, and the list of periods to choose from."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from starlette.responses import Response

from pipeline.desk.auth import Context
from pipeline.errors import NotFound, UsageError
from pipeline.standings.periods import Period, between, is_deadline, period_of
from pipeline.standings.timetable import campaign_window


def periods(context: Context) -> list[Period]:
    """The campaign's periods up to the one collecting now, newest first."""
    first, last = campaign_window(context.config)
    current = min(period_of(datetime.now(UTC), context.config.schedule), last)
    return list(reversed(between(first.end, current, context.config.schedule)))


def default_period(context: Context) -> Period:
    """The period collecting now while the campaign runs; after it (or on an old sample
    ledger) the latest period a circular was made for, else the latest that has mail."""
    now_period = period_of(datetime.now(UTC), context.config.schedule)
    first, last = campaign_window(context.config)
    if first <= now_period <= last:
        return now_period
    db = context.ledger.db
    for table in ("runs", "messages"):
        row = db.execute(f"SELECT max(period) FROM {table}").fetchone()
        if row and row[0]:
            return Period.parse(row[0])
    return min(now_period, last)


def chosen_period(context: Context, text: str | None = None) -> Period:
    """The period named in the URL (path or ?period=), else the default one."""
    given = text if text is not None else context.request.query_params.get("period", "")
    if not given:
        return default_period(context)
    try:
        period = Period.parse(given)
    except ValueError:
        raise UsageError(f"旬的写法应为 YYYY-MM-DD，例如 2015-09-20（收到 {given!r}）。") from None
    first, last = campaign_window(context.config)
    if not first.end <= period.end <= last.end:
        raise NotFound(f"没有 {given} 这一旬：本次活动从 {first} 到 {last}。")
    if not is_deadline(period.end, context.config.schedule):
        raise UsageError(f"{given} 不是截止日（每旬按截止日命名，如 2015-09-20）。")
    return period


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(data: bytes, media_type: str, filename: str) -> Response:
    """A file to save, never to open in the page (RFC 6266; Chinese names as UTF-8)."""
    disposition = f"attachment; filename=\"download\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media_type, headers={"content-disposition": disposition})
