"""A multi-metric report approved in the desk: one field per metric, prefilled with what
was read; a field the clerk empties is not reported (never taken from the form again)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from desk_support import XUNBAO, Desk, client, csrf_of, login
from test_multimetric import PERIOD, example_copy

from pipeline import config as config_module
from pipeline.clerk import accounts
from pipeline.ledger import Ledger


@pytest.mark.slow  # an end-to-end run of xunbao on the 2019 example
def test_one_field_per_metric_and_an_emptied_one_is_not_reported(tmp_path: Path) -> None:
    path = example_copy(tmp_path)
    done = subprocess.run(
        [str(XUNBAO), "run", "--config", str(path), "--period", PERIOD, "--no-send",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    config = config_module.load(path).config
    with Ledger(config.resolve(config.storage.path)) as ledger:
        accounts.add(ledger, "小李", "clerk", "clerk-password-1")
        (held,) = [r.id for r in ledger.messages(outcome="review")]
    desk = Desk(client(path), path)
    assert login(desk.client, "小李", "clerk-password-1") == 303
    page = desk.client.get(f"/queue/{PERIOD}/{held}").text
    fields = dict(re.findall(r'name="value_(\w+)" inputmode="numeric" value="([^"]*)"', page))
    assert fields["contract_workers"] == "30" and fields["group_projects"] == "1", fields
    assert set(fields) == {m.key for m in config.campaign.metrics}
    form = {f"value_{key}": value for key, value in fields.items()}
    form |= {"value_new_members": "200", "value_contract_workers": ""}  # emptied: not reported
    response = desk.client.post(
        f"/queue/{PERIOD}/{held}/approve",
        data={"csrf": csrf_of(page), "unit": "夹江县", **form},
    )
    assert response.status_code == 303, response.text[-3000:]
    rows = sqlite3.connect(config.resolve(config.storage.path)).execute(
        "SELECT metric, value FROM reports WHERE unit = '夹江县' AND withdrawn_at IS NULL"
    )
    assert sorted(rows) == [("group_projects", 1), ("new_members", 200)]
