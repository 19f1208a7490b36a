"""Results worth keeping between requests (standings, composed circulars) until the ledger's
figures change. A fingerprint of the reports and clerk actions tells: any new report, any
action (approve, reject, record, withdraw…) changes it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from pipeline.ledger import Ledger

T = TypeVar("T")


def fingerprint(ledger: Ledger) -> tuple[object, ...]:
    row = ledger.db.execute(
        "SELECT (SELECT count(*) FROM reports), (SELECT max(id) FROM reports),"
        " (SELECT max(id) FROM actions), (SELECT max(id) FROM messages)"
    ).fetchone()
    return (str(ledger.path), *tuple(row))


class Memo(Generic[T]):
    """A small least-recently-used store of results, safe across the server's threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Hashable, T] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        made = make()  # outside the lock: composing a circular takes seconds
        with self.lock:
            self.items[key] = made
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return made
