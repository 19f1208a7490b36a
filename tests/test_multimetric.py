"""Multi-metric campaigns: config validation, several figures from one form, and the 2019
work-points example (examples/) rendered end to end through the CLI."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import config
from pipeline.errors import ConfigError
from pipeline.reading.forms import fields
from pipeline.reading.forms.cells import plain
from pipeline.reading.forms.table import MetricSpec, Role

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "2019-work-points.yaml"
XUNBAO = Path(sys.executable).parent / "xunbao"
PERIOD = "2019-04-10"


def example_copy(folder: Path, text: str | None = None) -> Path:
    """The example config with its inbox and ledger paths pointed at absolute places."""
    text = text if text is not None else EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("path: 2019-inbox", f"path: {ROOT / 'examples' / '2019-inbox'}")
    text = text.replace("path: ../data/2019-work-points.sqlite", "path: data/2019.sqlite")
    path = folder / "2019.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ── config ─────────────────────────────────────────────────────
def test_example_config_loads() -> None:
    loaded = config.load(EXAMPLE)
    cfg = loaded.config
    keys = [m.key for m in cfg.metrics]
    assert keys == ["new_members", "contract_workers", "group_projects", "legal_events", "training"]
    # The first metric is the headline: campaign.metric/measure follow it; its target is
    # the units' split.
    assert cfg.campaign.metric == "新发展农民工会员" and cfg.campaign.measure == "名"
    split = sum(cfg.unit_target(u, cfg.metrics[0]) or 0 for u in cfg.units)
    assert split == 9460 == cfg.total_target(cfg.metrics[0])
    assert cfg.unit_target(cfg.units[0], cfg.metrics[1]) is None  # city-wide only
    assert cfg.total_target(cfg.metrics[1]) == 3000
    assert [m.read_from for m in cfg.metrics] == ["累计", "累计", "累计", "本旬", "本旬"]
    assert cfg.total_target(cfg.metrics[4]) is None  # no number in the document: not rated


def test_single_metric_config_has_one_implicit_metric() -> None:
    cfg = config.load(ROOT / "config.yaml").config
    assert [(m.key, m.name, m.measure, m.target) for m in cfg.metrics] == [
        ("", "新增农民工入会", "名", 71000)
    ]


def test_unknown_metric_key_in_unit_targets(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    bad = text.replace(
        "{name: 沙湾区, section: 县市区, targets: {new_members: 700}",
        "{name: 沙湾区, section: 县市区, targets: {new_members: 700, trainin: 1}",
    )
    assert bad != text
    with pytest.raises(ConfigError) as caught:
        config.load(example_copy(tmp_path, bad))
    message = "\n".join(caught.value.problems)
    line = next(i for i, row in enumerate(bad.splitlines(), 1) if "trainin: 1" in row)
    assert f"第 {line} 行" in message, message
    assert "units[2].targets.trainin" in message
    assert "不是 campaign.metrics 中的指标键" in message and "是否想写 training" in message


def test_unit_targets_without_metrics_and_missing_target(tmp_path: Path) -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    bad = text.replace("base: 20541, target: 5437,", "base: 20541, targets: {x: 1},")
    path = tmp_path / "config.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    message = "\n".join(caught.value.problems)
    assert "units[0]：缺少必填的键 target" in message
    assert "units[0].targets.x" in message and "campaign 未列出 metrics" in message


def test_headline_metric_needs_unit_targets(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    bad = text.replace("targets: {new_members: ", "targets: {training: ")
    with pytest.raises(ConfigError) as caught:
        config.load(example_copy(tmp_path, bad))
    message = "\n".join(caught.value.problems)
    assert "campaign.metrics[0]" in message and "须在 units[].targets 中给各单位分解目标" in message


# ── forms ──────────────────────────────────────────────────────
SPECS = [
    MetricSpec("new_members", ("新发展农民工会员",), Role.TOTAL),
    MetricSpec("contract_workers", ("专项集体合同覆盖农民工",), Role.TOTAL),
    MetricSpec("legal_events", ("开展公益法律服务活动", "公益法律服务活动"), Role.DEKAD),
    MetricSpec("training", ("农民工安全教育和技能培训",), Role.DEKAD),
]


def _figures(rows: list[list[str]]) -> dict[str, tuple[int | None, str | None]]:
    return fields.figures(fields.extract(plain(rows), "form.xlsx"), SPECS).figures


def test_table_read_by_column_roles() -> None:
    """The 2019 table: 序号 never a figure, each metric from its own column, every row."""
    rows = [
        ["附件2", "", "", ""],
        ["报送单位（盖章）：乐山市市中区总工会", "", "报送时间：2019.4.15", ""],
        ["序号", "工作项目", "本旬数", "累计数"],
        ["1", "新发展农民工会员（名）", "191", "545"],
        ["2", "专项集体合同覆盖农民工（人）", "0", "59"],
        ["3", "八大群体入会工作项目（个）", "0", "0"],
        ["4", "开展公益法律服务活动（场）", "1", ""],
        ["5", "农民工安全教育和技能培训（人次）", "0", ""],
        ["主要工作举措", "（一）……", "", ""],
        ["填报人：王丽", "", "联系电话：0833-2123456", ""],
    ]
    found = fields.figures(fields.extract(plain(rows), "form.xlsx"), SPECS)
    assert found.figures == {
        "new_members": (545, None),
        "contract_workers": (59, None),
        "legal_events": (1, None),
        "training": (0, None),
    }
    assert found.unknown_rows == ("八大群体入会工作项目(个)",)  # not in SPECS: named


def test_two_row_heads_other_order_blank_and_measure_words() -> None:
    rows = [
        ["序号", "工作项目", "完成情况", ""],
        ["", "", "本旬", "截至本旬累计"],
        ["1", "农民工安全教育和技能培训", "120人次", "300人次"],
        ["2", "新发展农民工会员", "186名", "1,186名"],
        ["3", "专项集体合同覆盖农民工", "", ""],
        ["4", "公益法律服务活动", "—", "3场"],
    ]
    assert _figures(rows) == {"training": (120, None), "new_members": (1186, None)}


def test_doubtful_figure_in_a_table_is_a_problem() -> None:
    rows = [
        ["工作项目", "本旬数", "累计数"],
        ["新发展农民工会员", "约50", "约200"],
        ["开展公益法律服务活动", "2", "3"],
    ]
    found = _figures(rows)
    assert found["legal_events"] == (2, None)
    value, problem = found["new_members"]
    assert value is None and problem and "约200" in problem


def test_figures_from_a_body_text_and_a_doubtful_one() -> None:
    body = [
        ["报送单位：夹江县总工会"],
        ["专项集体合同覆盖农民工（人）：约200人"],
        ["开展公益法律服务活动（场）：1场"],
    ]
    found = fields.figures(fields.extract(plain(body), "邮件正文"), SPECS).figures
    assert found["legal_events"] == (1, None)
    value, problem = found["contract_workers"]
    assert value is None and problem and "约200" in problem


# ── the 2019 example end to end ────────────────────────────────
@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("2019")
    path = example_copy(folder)
    out = folder / "tmp"
    result = subprocess.run(
        [str(XUNBAO), "run", "--config", str(path), "--period", PERIOD, "--no-send", "--out", out],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "收取新邮件 11 封：计入 10，待审核 1，忽略 0" in result.stdout
    return out / PERIOD


# metric key → (name in the circular, city-wide total at 2019-04-10, target, measure),
# summed by hand from examples/build_2019_inbox.py's REPORTS
EXPECTED = {
    # running totals, each unit's latest: 545+688+402+231+610+73+298+330+96
    "new_members": ("新发展农民工会员", 3273, 9460, "名"),
    # 59+420+35+80+150+12+40+25 (井研县 left it blank: not reported)
    "contract_workers": ("专项集体合同覆盖农民工", 821, 3000, "人"),
    "group_projects": ("八大群体入会工作项目", 5, 10, "个"),  # 2+1+1+1
    # per dekad, summed: 市中区 1+1, 犍为 2, 沙湾 1, 峨眉山 1, 沐川 1, 峨边 1
    "legal_events": ("开展公益法律服务活动", 8, 5, "场"),
    "training": ("农民工安全教育和技能培训", 545, None, "人次"),  # 80+150+45+200+30+40
}


@pytest.mark.slow  # an end-to-end run of xunbao; the fast lane has the unit tests
def test_example_standings_json(example_run: Path) -> None:
    data = json.loads((example_run / "standings.json").read_text(encoding="utf-8"))
    assert data["total"] == {"target": 9460, "completed": 3273, "rate": 0.346}  # headline
    got = {
        m["key"]: (m["name"], m["total"]["completed"], m["total"]["target"], m["measure"])
        for m in data["metrics"]
    }
    assert got == EXPECTED
    by_unit = {m["key"]: {u["unit"]: u for u in m["units"]} for m in data["metrics"]}
    assert by_unit["new_members"]["市中区"]["completed"] == 545  # cumulative: latest
    assert by_unit["legal_events"]["市中区"]["completed"] == 2  # per period: summed
    assert by_unit["contract_workers"]["井研县"]["completed"] == 0  # blank: not reported
    assert by_unit["new_members"]["峨边县"]["completed"] == 96  # rows in another order
    assert by_unit["new_members"]["沐川县"]["completed"] == 298  # a photo
    assert by_unit["new_members"]["金口河区"]["completed"] == 73  # a Writer PDF
    assert "target" not in by_unit["group_projects"]["犍为县"]  # city-wide target only
    training = next(m for m in data["metrics"] if m["key"] == "training")
    assert training["total"]["rate"] is None  # no target: shown, never rated
    missing = {u["unit"] for u in data["units"] if u["status"] == "missing"}
    assert "夹江县" not in missing and "峨眉山市" not in missing
    assert "夹江县" in data["pending"]  # 夹江县's report is held: 待核实, not 未报送


@pytest.mark.slow  # an end-to-end run of xunbao; the fast lane has the unit tests
def test_example_messages_json_carries_every_metric(example_run: Path) -> None:
    path = example_run.parent.parent / "2019.yaml"
    done = subprocess.run(
        [str(XUNBAO), "messages", "--json", "--config", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {r["message_id"]: r for r in json.loads(done.stdout)}
    assert rows["<20190410-1050-ebian@example.lszgh>"]["values"] == {
        "training": 40,
        "legal_events": 1,
        "new_members": 96,
        "group_projects": 0,
        "contract_workers": 25,
    }
    jingyan = rows["<20190410-1030-jingyan@example.lszgh>"]["values"]
    assert jingyan == {"new_members": 330, "group_projects": 1, "legal_events": 0}
    assert rows["<20190410-1120-jiajiang@example.lszgh>"]["values"] is None  # held


@pytest.mark.slow  # an end-to-end run of xunbao; the fast lane has the unit tests
def test_example_circular_pdf_names_every_metric_and_total(example_run: Path) -> None:
    text = subprocess.run(
        ["pdftotext", str(example_run / "circular.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = re.sub(r"—\d+—", "", "".join(text.split()))  # without the page numbers
    assert "乐工经〔2019〕" in flat and "关于全市工会关爱服务农民工工作进展情况的通报" in flat
    for name, total, target, measure in EXPECTED.values():
        said = f"，完成全年目标{target:,}{measure}" if target else ""
        assert f"全市{name}{total:,}{measure}{said}" in flat, name
        assert f"{name}" in flat.split("二、各单位完成情况")[1], name  # its own table


def test_example_inbox_is_the_builder_output() -> None:
    """The committed samples are what examples/build_2019_inbox.py writes (forms excepted:
    rebuilding them needs LibreOffice, so only the body-only reports are compared)."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import build_2019_inbox as builder
    finally:
        sys.path.pop(0)
    for report in builder.REPORTS:
        if not report.attach:
            written = (builder.INBOX / f"{report.key}.eml").read_bytes()
            assert written == builder.mail(report, None)


@pytest.mark.slow  # an end-to-end run of xunbao; the fast lane has the unit tests
def test_clerk_enters_figures_per_metric(tmp_path: Path) -> None:
    path = example_copy(tmp_path)
    out = tmp_path / "out"

    def xunbao(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(XUNBAO), *args, "--config", str(path)]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)

    assert xunbao("run", "--period", PERIOD, "--no-send", "--out", str(out)).returncode == 0
    (held,) = json.loads(xunbao("review", "--json").stdout)
    approved = xunbao(
        "review", "approve", str(held["id"]), "--metric", "new_members", "--value", "200"
    )
    assert approved.returncode == 0, approved.stderr
    recorded = xunbao(
        "record",
        "--unit",
        "夹江县",
        "--period",
        PERIOD,
        "--value",
        "1",
        "--metric",
        "training",
        "--note",
        "电话报送",
    )
    assert recorded.returncode == 0, recorded.stderr
    wrong = xunbao(
        "record", "--unit", "夹江县", "--period", PERIOD, "--value", "1", "--metric", "trainin"
    )
    assert wrong.returncode == 2 and "training" in wrong.stderr
    assert xunbao("run", "--period", PERIOD, "--no-send", "--out", str(out)).returncode == 0
    data = json.loads((out / PERIOD / "standings.json").read_text(encoding="utf-8"))
    totals = {m["key"]: m["total"]["completed"] for m in data["metrics"]}
    assert totals["new_members"] == EXPECTED["new_members"][1] + 200
    assert totals["training"] == EXPECTED["training"][1] + 1


@pytest.mark.slow  # an end-to-end run of xunbao; the fast lane has the unit tests
def test_a_held_report_is_approved_with_all_its_figures(tmp_path: Path) -> None:
    """夹江县 wrote 约200 for the headline: held. The clerk gives that one figure; the
    others read from the same form (合同 30, 八大群体 1) are counted with it, one row per
    metric; the metrics it left blank stay unreported."""
    path = example_copy(tmp_path)

    def xunbao(*args: str) -> str:
        done = subprocess.run(
            [str(XUNBAO), *args, "--config", str(path)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    xunbao("run", "--period", PERIOD, "--no-send", "--out", str(tmp_path / "out"))
    (held,) = json.loads(xunbao("review", "--json"))
    assert "约200" in held["reason"]
    wrong = [str(XUNBAO), "review", "approve", str(held["id"]), "--value", "nope=3"]
    done = subprocess.run([*wrong, "--config", str(path)], capture_output=True, text=True)
    assert done.returncode == 2 and "没有指标 'nope'" in done.stderr
    said = xunbao("review", "approve", str(held["id"]), "--value", "new_members=200")
    assert "夹江县 new_members=200、contract_workers=30、group_projects=1" in said
    ledger = sqlite3.connect(tmp_path / "data" / "2019.sqlite")
    rows = ledger.execute("SELECT metric, value FROM reports WHERE unit = '夹江县'").fetchall()
    assert sorted(rows) == [("contract_workers", 30), ("group_projects", 1), ("new_members", 200)]
    xunbao("run", "--period", PERIOD, "--no-send", "--out", str(tmp_path / "out"))
    data = json.loads((tmp_path / "out" / PERIOD / "standings.json").read_text("utf-8"))
    totals = {m["key"]: m["total"]["completed"] for m in data["metrics"]}
    assert totals["new_members"] == 3273 + 200 and totals["contract_workers"] == 821 + 30


def test_approve_values_are_checked(tmp_path: Path) -> None:
    path = example_copy(tmp_path)
    base = [str(XUNBAO), "review", "approve", "1", "--config", str(path)]
    for given, said in (
        (["--value", "x=abc"], "应写数字"),
        (["--value", "1", "--value", "2"], "只能有一个不带指标键的 --value"),
    ):
        done = subprocess.run([*base, *given], capture_output=True, text=True)
        assert done.returncode != 0 and said in done.stdout + done.stderr, given


@pytest.mark.slow  # an end-to-end run of xunbao; the fast lane has the unit tests
def test_recheck_counts_held_reports_with_every_figure(tmp_path: Path) -> None:
    """Two units' addresses were mistyped: their reports are held. Once the config is right,
    recheck reads the kept originals again and counts them with all their figures, exactly
    as a run with the right config from the start does."""

    def reports(path: Path) -> list[tuple[str, str, str, int]]:
        ledger = sqlite3.connect(path.parent / "data" / "2019.sqlite")
        try:
            rows = ledger.execute("SELECT unit, period, metric, value FROM reports").fetchall()
        finally:
            ledger.close()
        return sorted(rows)

    def xunbao(path: Path, *args: str) -> str:
        done = subprocess.run(
            [str(XUNBAO), *args, "--config", str(path)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    (tmp_path / "right").mkdir()
    right = example_copy(tmp_path / "right")
    xunbao(right, "run", "--period", PERIOD, "--no-send", "--out", str(tmp_path / "out1"))
    text = EXAMPLE.read_text(encoding="utf-8")
    mistyped = text.replace("[szqzgh@163.com]", "[szqzhg@163.com]")
    mistyped = mistyped.replace("[emsszgh@163.com]", "[emszgh@163.com]")
    assert mistyped.count("zhg@163.com") == 1 and "emszgh" in mistyped
    (tmp_path / "wrong").mkdir()
    wrong = example_copy(tmp_path / "wrong", mistyped)
    said = xunbao(wrong, "run", "--period", PERIOD, "--no-send", "--out", str(tmp_path / "out2"))
    assert "计入 7，待审核 4" in said
    assert reports(wrong) != reports(right)

    example_copy(tmp_path / "wrong")  # the addresses corrected
    said = xunbao(wrong, "recheck")
    assert said.count("现已计入") == 3, said  # 市中区 twice (03-29, 04-08), 峨眉山市
    assert reports(wrong) == reports(right)
    (held,) = json.loads(xunbao(wrong, "review", "--json"))
    assert "约200" in held["reason"]  # 夹江县's doubtful figure still needs a person


@pytest.mark.slow  # an end-to-end run of xunbao; the fast lane has the unit tests
def test_year_summary_covers_every_metric(example_run: Path) -> None:
    """summary --year: a sheet of every metric's city figure per dekad, and no empty
    base-year columns in a campaign that has no base year."""
    import openpyxl

    path = example_run.parent.parent / "2019.yaml"
    out = example_run.parent.parent / "summary"
    done = subprocess.run(
        [str(XUNBAO), "summary", "--year", "2019", "--config", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    book = openpyxl.load_workbook(out / "summary-2019" / "summary.xlsx")
    rows = {r[0]: r for r in book["各项指标"].iter_rows(values_only=True) if r[0]}
    for name, total, target, measure in EXPECTED.values():
        assert rows[name][1] == measure and rows[name][-2] == total, name
        assert rows[name][2] == (target if target else "无量化目标"), name
    heads = [
        c.value for c in next(r for r in book.worksheets[0].iter_rows() if r[0].value == "排名")
    ]
    assert not any("会员数" in str(h) or "增长" in str(h) for h in heads)
    text = subprocess.run(
        ["pdftotext", str(out / "summary-2019" / "summary.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "全市农民工安全教育和技能培训545人次" in "".join(text.split())


@pytest.mark.slow  # an end-to-end run of xunbao; the fast lane has the unit tests
def test_desk_approves_each_metric(tmp_path: Path) -> None:
    """The desk's approval form has one field per metric, prefilled as the form was read;
    the clerk gives the doubtful headline (夹江县 wrote 约200) and each figure counts."""
    from desk_support import client, csrf_of

    from pipeline.clerk import accounts
    from pipeline.ledger import Ledger

    path = example_copy(tmp_path)
    run = [str(XUNBAO), "run", "--period", PERIOD, "--no-send", "--config", str(path)]
    assert subprocess.run(run, capture_output=True, timeout=300).returncode == 0
    ledger_path = tmp_path / "data" / "2019.sqlite"
    with Ledger(ledger_path) as ledger:
        accounts.add(ledger, "李经办", "clerk", "desk-pass-2019")
        (held,) = [m.id for m in ledger.messages() if m.outcome == "review"]
    desk = client(path)
    token = csrf_of(desk.get("/login").text)
    login = {"csrf": token, "name": "李经办", "password": "desk-pass-2019"}
    assert desk.post("/login", data=login).status_code == 303
    page = desk.get(f"/queue/{PERIOD}/{held}").text
    assert 'name="value_new_members"' in page and 'name="value_training"' in page
    assert re.search(r'name="value_contract_workers"[^>]*value="30"', page)  # prefilled
    form = {"csrf": csrf_of(page), "unit": "夹江县", "value_new_members": "200"}
    form |= {"value_contract_workers": "30", "value_group_projects": "1", "value_training": "12"}
    response = desk.post(f"/queue/{PERIOD}/{held}/approve", data=form)
    assert response.status_code == 303, response.text
    rows = sqlite3.connect(ledger_path).execute(
        "SELECT metric, value FROM reports WHERE unit = '夹江县'"
    )
    assert sorted(rows) == [
        ("contract_workers", 30),
        ("group_projects", 1),
        ("new_members", 200),
        ("training", 12),
    ]
