"""A controllable clock for `serve`: nothing sleeps, a year passes in seconds."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """'2016-02-29 18:00' in Shanghai time."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


class FakeClock:
    """Time moves only when the server waits; events fire at their moment on the way."""

    def __init__(self, start: datetime) -> None:
        self.current = start
        self.events: list[tuple[datetime, int, Callable[[], object]]] = []

    def now(self) -> datetime:
        return self.current

    def at(self, when: datetime, action: Callable[[], object]) -> None:
        bisect.insort(self.events, (when, len(self.events), action))

    def wait(self, until: datetime, interrupted: Callable[[], bool]) -> None:
        while self.events and self.events[0][0] <= until and not interrupted():
            when, _, action = self.events.pop(0)
            self.current = max(self.current, when)
            action()
        if not interrupted():
            self.current = max(self.current, until)
