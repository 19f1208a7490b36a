"""The desk's 约谈 page (issue 25 item 9): the summoned units of an issued circular and the
record of each talk, kept by the same rule as `xunbao talk record`."""

from __future__ import annotations

from datetime import date

from desk_support import PERIOD, Desk

from pipeline.ledger.records import Snapshot


def test_a_talk_is_recorded_for_a_summoned_unit_only(clerk: Desk) -> None:
    assert "已发出的通报中还没有约谈单位" in clerk.client.get("/talks").text
    with clerk.ledger() as ledger:
        named = Snapshot.of_json({"summoned": ["沐川县", "马边县"]})
        ledger.add_version(PERIOD, 1, "f", named, "", "x", None)
    page = clerk.client.get("/talks").text
    assert "沐川县" in page and "尚未记录" in page
    form = {
        "csrf": clerk.csrf("/talks"),
        "period": PERIOD,
        "unit": "沐川县",
        "held_on": "2015-09-23",
        "attendees": "王某",
        "measures": "包片督导",
        "deadline": "2015-10-10",
    }
    assert clerk.client.post("/talks", data=form).status_code == 303
    with clerk.ledger() as ledger:
        (talk,) = ledger.talks(PERIOD)
    assert (talk.unit, talk.held_on, talk.recorded_by) == ("沐川县", date(2015, 9, 23), "小李")
    assert "包片督导" in clerk.client.get(f"/talks?period={PERIOD}").text
    refused = clerk.client.post("/talks", data=form | {"unit": "市中区"})
    assert refused.status_code == 400 and "没有约谈 市中区" in refused.text
