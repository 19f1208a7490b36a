"""Issue 25, "done when": the whole 2015 campaign, September to the year's end, through the
real pipeline — mail in a directory, `job.cycle` at each of the twelve dekads (the last one
is the year-end, 年度 circular), every circular issued (no mail server: finalised, not
sent) — checked against figures computed by hand in the tables below.

The story (targets in brackets): five units are followed dekad by dekad; the seventeen
others report their whole target on 09-10 (完成, never summoned, never 未报送 again);
two enterprises report into 其他; 乐电 attaches a name list; 五通桥's 09-30 form comes from
an unregistered address and stays held (待核实); 夹江 misses 10-20; 五通桥's last form
arrives on 31 December at 21:00.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline import config
from pipeline.clerk import talks
from pipeline.issuance import phase
from pipeline.ledger.talks import Talk
from pipeline.outputs import notices
from pipeline.service import job
from pipeline.standings.periods import Period

ROOT = Path(__file__).resolve().parent.parent
PERIODS = [
    "2015-09-10", "2015-09-20", "2015-09-30", "2015-10-10", "2015-10-20", "2015-10-30",
    "2015-11-10", "2015-11-20", "2015-11-30", "2015-12-10", "2015-12-20", "2015-12-31",
]  # fmt: skip
STORY = {"五通桥区": 8425, "夹江县": 6430, "乐电公司": 200, "沙湾区": 5000, "市中区": 5437}
# Cumulative figure each story unit sends by mail in each dekad (None: nothing that dekad;
# "held": a form from an unregistered address, left in the review queue).
# fmt: off
ROWS: dict[str, list[int | str | None]] = {
    #          09-10 09-20  09-30   10-10 10-20 10-30 11-10 11-20 11-30 12-10 12-20 12-31
    "五通桥区": [1196, 1300, "held", 1500, 1700, 2000, 3000, 4000, 5000, 6000, 7000, 8425],
    "夹江县": [797, 900, 1000, 1100, None, 1500, 2500, 3500, 4500, 5500, 6430, None],
    "乐电公司": [20, 25, 30, 160, 170, 180, 200, None, None, None, None, None],
    "沙湾区": [3000, 3200, 3400, 3600, 3800, 4000, 4200, 4400, 4600, 4800, 5000, None],
    "市中区": [4000, 4200, 4400, 4600, 4800, 5000, 5437, None, None, None, None, None],
}
# fmt: on
SENT = {unit: dict(zip(PERIODS, row, strict=True)) for unit, row in ROWS.items()}
# 其他: the enterprises' own running figures.
DOMAINS = {"国网乐山供电公司": "sgcc-ls.example", "东风电机公司": "dfdj.example"}
ENTERPRISES = {
    ("国网乐山供电公司", "2015-10-10"): 100,
    ("国网乐山供电公司", "2015-11-20"): 250,
    ("东风电机公司", "2015-11-10"): 80,
}

# ── the hand-computed expectations ─────────────────────────────
# 时间进度: (cutoff − 2015-01-01 00:00) ÷ 365 days; cutoffs at 18:00 (0.75 of a day), the
# year-end period at 24:00 on 31 December.
PROGRESS = {
    "2015-09-10": 252.75 / 365, "2015-09-20": 262.75 / 365, "2015-09-30": 272.75 / 365,
    "2015-10-10": 282.75 / 365, "2015-10-20": 292.75 / 365, "2015-10-30": 302.75 / 365,
    "2015-11-10": 313.75 / 365, "2015-11-20": 323.75 / 365, "2015-11-30": 333.75 / 365,
    "2015-12-10": 343.75 / 365, "2015-12-20": 353.75 / 365, "2015-12-31": 1.0,
}  # fmt: skip
# 末位: the last three reporting, uncompleted units by rate (rates worked out by hand):
# 09-10 乐电 10.0 %, 夹江 12.4 %, 五通桥 14.2 % | 09-20 乐电 12.5, 夹江 14.0, 五通桥 15.4 |
# 09-30 乐电 15.0, 夹江 15.6, 沙湾 68.0 (五通桥 待核实) | 10-10 夹江 17.1, 五通桥 17.8,
# 沙湾 72.0 | 10-20 五通桥 20.2, 沙湾 76.0, 乐电 85.0 (夹江 未报送) | 10-30 夹江 23.3,
# 五通桥 23.7, 沙湾 80.0 | 11-10 … 12-10 only 五通桥, 夹江, 沙湾 are not complete |
# 12-20 五通桥 83.1 | 12-31 everyone complete.
LAGGING = {
    "2015-09-10": {"乐电公司", "夹江县", "五通桥区"},
    "2015-09-20": {"乐电公司", "夹江县", "五通桥区"},
    "2015-09-30": {"乐电公司", "夹江县", "沙湾区"},
    "2015-10-10": {"夹江县", "五通桥区", "沙湾区"},
    "2015-10-20": {"五通桥区", "沙湾区", "乐电公司"},
    "2015-10-30": {"夹江县", "五通桥区", "沙湾区"},
    "2015-11-10": {"五通桥区", "夹江县", "沙湾区"},
    "2015-11-20": {"五通桥区", "夹江县", "沙湾区"},
    "2015-11-30": {"五通桥区", "夹江县", "沙湾区"},
    "2015-12-10": {"五通桥区", "夹江县", "沙湾区"},
    "2015-12-20": {"五通桥区"},
    "2015-12-31": set(),
}
# Summoned (末位 or 未报送) with the count of consecutive issued circulars that summoned it;
# 2 or more: named before the whole city. 五通桥's 09-30 (待核实) ends its streak.
STREAKS = {
    "2015-09-10": {"乐电公司": 1, "夹江县": 1, "五通桥区": 1},
    "2015-09-20": {"乐电公司": 2, "夹江县": 2, "五通桥区": 2},
    "2015-09-30": {"乐电公司": 3, "夹江县": 3, "沙湾区": 1},
    "2015-10-10": {"夹江县": 4, "五通桥区": 1, "沙湾区": 2},
    "2015-10-20": {"五通桥区": 2, "沙湾区": 3, "乐电公司": 1, "夹江县": 5},
    "2015-10-30": {"夹江县": 6, "五通桥区": 3, "沙湾区": 4},
    "2015-11-10": {"五通桥区": 4, "夹江县": 7, "沙湾区": 5},
    "2015-11-20": {"五通桥区": 5, "夹江县": 8, "沙湾区": 6},
    "2015-11-30": {"五通桥区": 6, "夹江县": 9, "沙湾区": 7},
    "2015-12-10": {"五通桥区": 7, "夹江县": 10, "沙湾区": 8},
    "2015-12-20": {"五通桥区": 8},
    "2015-12-31": {},
}
# The city: the seventeen others' targets 70400 − 25492 = 44908, the story units' latest
# figures, and 其他 = the enterprises' latest figures summed.
OTHERS_TOTAL = 70400 - sum(STORY.values())
OTHER = {"2015-10-10": 100, "2015-11-10": 180, "2015-11-20": 330, "2015-12-31": 330}
CITY = {
    "2015-09-10": OTHERS_TOTAL + 1196 + 797 + 20 + 3000 + 4000,
    "2015-10-10": OTHERS_TOTAL + 1500 + 1100 + 160 + 3600 + 4600 + 100,
    "2015-12-31": 70400 + 330,  # 五通桥's 8425 of 31 December 21:00 included
}
# 2014 base 324039: 70730 is 21.8 % (goal 22 %); 市属基层 (base 14207, one merged cell):
# its nine others 1200 + 乐电 200 + 其他 330 = 1730, 12.2 %.
CITY_LEVEL = 1200 + 200 + 330


def form(sender: str, unit: str, value: int, when: str, name: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "lsszghzxb@126.com"
    message["Subject"] = f"{unit}旬报表"
    message["Date"] = when
    message["Message-ID"] = f"<{name.encode().hex()}@scenario.example>"
    message.set_content(
        f"报送单位：{unit}\n报送时间：{when[:16]}\n"
        f"已完成目标任务数（新增 {value} 名农民工入会）\n主要工作举措：\n1. 深入工地宣传。\n"
    )
    return message


def valid_ids(count: int) -> list[str]:
    weights, check = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), "10X98765432"
    found = []
    for n in range(count):
        body = f"51110219900101{n:03d}"
        found.append(body + check[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11])
    return found


def write_inbox(folder: Path, cfg: config.Config) -> int:
    folder.mkdir(parents=True)
    written = 0

    def put(message: EmailMessage, name: str) -> None:
        nonlocal written
        (folder / f"{name}.eml").write_bytes(bytes(message))
        written += 1

    def address(unit: str) -> str:
        sender = cfg.unit(unit).senders[0]
        return "gh" + sender if sender.startswith("@") else sender

    for unit in cfg.reporting_units:
        if unit.name not in STORY:
            put(
                form(address(unit.name), unit.name, unit.target, _date("2015-09-10", 9), unit.name),
                f"09-10-{unit.name}",
            )
    for unit, figures in SENT.items():
        for period, value in figures.items():
            name = f"{period}-{unit}"
            if value == "held":  # the unit's clerk wrote from a private address
                put(form("wtq.clerk@qq.com", unit, 1400, _date(period, 10), name), name)
            elif period == "2015-12-31" and isinstance(value, int):
                put(form(address(unit), unit, value, "Thu, 31 Dec 2015 21:00:00 +0800", name), name)
            elif isinstance(value, int):
                message = form(address(unit), unit, value, _date(period, 10), name)
                if (unit, period) == ("乐电公司", "2015-09-20"):  # 5 new members, 5 on the list
                    rows = ["姓名,身份证号,工作单位"] + [
                        f"某{i},{n},乐电" for i, n in enumerate(valid_ids(5))
                    ]
                    csv = ("\r\n".join(rows) + "\r\n").encode("utf-8-sig")
                    message.add_attachment(csv, "text", "csv", filename="实名登记.csv")
                put(message, name)
    for (unit, period), value in ENTERPRISES.items():
        put(
            form(f"gh@{DOMAINS[unit]}", unit, value, _date(period, 11), f"{period}-{unit}"),
            f"{period}-{unit}",
        )
    return written


def _date(period: str, hour: int) -> str:
    day = date.fromisoformat(period)
    return f"{day:%a}, {day.day:02d} {day:%b} {day.year} {hour:02d}:00:00 +0800"


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[config.Config, Path]:
    folder = tmp_path_factory.mktemp("campaign")
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("path: inbox_samples", f"path: {folder / 'inbox'}")
    text = text.replace("path: data/xunbao.sqlite", f"path: {folder / 'data' / 'xunbao.sqlite'}")
    text = text.replace("dir: out ", f"dir: {folder / 'out'} ")
    text = text.replace("max_jump: 0 ", "max_jump: 20000 ")  # the story's big dekads are real
    for unit in ("国网乐山供电公司", "东风电机公司"):
        text = text.replace(
            f"{{name: {unit}, part_of: 其他, section: 市属基层, senders: []}}",
            f"{{name: {unit}, part_of: 其他, section: 市属基层, senders: [gh@{DOMAINS[unit]}]}}",
        )
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    cfg = config.load(path).config
    assert cfg.rules.max_jump == 20000 and cfg.unit("东风电机公司").senders
    assert write_inbox(folder / "inbox", cfg) == 17 + 47 + 3
    for period in PERIODS:
        if period == "2015-10-10":  # the talk with 乐电, summoned by the 09-30 circular
            with job.open_ledger(cfg) as ledger:
                talks.record(
                    cfg,
                    ledger,
                    Talk(
                        "2015-09-30",
                        "乐电公司",
                        date(2015, 10, 3),
                        "乐电公司工会主席",
                        "逐个车间登记农民工入会",
                        date(2015, 10, 20),
                        "鲍学智",
                    ),
                )
        result = job.cycle(cfg, Period.parse(period), send=True, trigger="manual", asked=True)
        assert result.published is not None
    return cfg, folder / "out"


def data(out: Path, period: str) -> dict:
    return json.loads((out / period / "standings.json").read_text(encoding="utf-8"))


def html(out: Path, period: str) -> str:
    return (out / period / "circular.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_dekad_against_the_hand_computed_table(campaign):
    cfg, out = campaign
    with job.open_ledger(cfg) as ledger:
        assert set(ledger.issued_periods()) == set(PERIODS)  # every circular issued
    for period in PERIODS:
        got = data(out, period)
        assert got["expected"] == pytest.approx(PROGRESS[period], abs=1e-4), period
        lagging = {u["unit"] for u in got["units"] if u["status"] == "lagging"}
        assert lagging == LAGGING[period], period
        streaks = {u["unit"]: u["summoned_streak"] for u in got["units"] if u["summoned"]}
        assert streaks == STREAKS[period], period
        assert set(got["escalated"]) == {u for u, n in STREAKS[period].items() if n >= 2}
    for period, total in CITY.items():
        assert data(out, period)["total"]["completed"] == total, period
    for period, other in OTHER.items():
        assert data(out, period)["others"] == [{"unit": "其他", "target": 600, "completed": other}]
    # 五通桥's held 09-30 form: 待核实, not summoned; 10-10 is a first summons, not 连续两次.
    assert data(out, "2015-09-30")["pending"] == ["五通桥区"]
    assert "五通桥区已连续" not in html(out, "2015-10-10")
    assert "夹江县已连续四次被约谈，沙湾区已连续两次被约谈" in html(out, "2015-10-10") or (
        "沙湾区已连续两次被约谈，夹江县已连续四次被约谈" in html(out, "2015-10-10")
    )
    assert "按时间进度应完成69.2%" in html(out, "2015-09-10")
    assert (
        "五通桥区、夹江县、乐电公司完成率处于末位（五通桥区14.2%，夹江县12.4%，乐电公司10.0%）"
        in html(out, "2015-09-10")
    )


@pytest.mark.slow
def test_talks_other_real_names_year_end_and_the_summary(campaign):
    _, out = campaign
    october = html(out, "2015-10-10")
    assert "2015年9月下旬通报约谈的单位整改情况如下" in october
    assert (
        "乐电公司：已于10月3日约谈（参加人员：乐电公司工会主席）；整改措施：逐个车间登记农民工入会"
        "（10月20日前完成）；本旬进展：完成率由15.0%升至80.0%，新增130名。"
    ) in october
    assert "夹江县：尚未报来约谈记录" in october
    # 实名登记: 乐电's five of 25 (20.0 %), the others never sent a list.
    assert '乐电公司<br><span class="roster">实名登记 5 名（20.0%）' in html(out, "2015-09-20")
    assert "共5名，占新增" in html(out, "2015-09-20") and "未附实名登记名单" in html(
        out, "2015-09-20"
    )
    # 其他 in the xlsx with its members.
    sheet = load_workbook(out / "2015-11-20" / "standings.xlsx").worksheets[0]
    names = [r[1] for r in sheet.iter_rows(values_only=True)]
    at = names.index("其他")
    assert names[at + 1 : at + 3] == ["　其中：国网乐山供电公司", "　其中：东风电机公司"]
    # The year end: 五通桥's form of 31 December 21:00 is in 2015; the 年度 circular.
    final = html(out, "2015-12-31")
    assert "关于2015年全市农民工入会集中行动完成情况的通报" in final
    assert "全市新增农民工入会70,730名" in final and "增长21.8%" in final and "尚未达到" in final
    assert f"市属基层（2014年基数合并计算）完成{CITY_LEVEL:,}名，增长12.2%" in final
    summary = load_workbook(out / "summary-2015" / "summary.xlsx").active
    assert summary is not None
    rows = {r[1]: r for r in summary.iter_rows(values_only=True) if r[1]}
    header = next(r for r in summary.iter_rows(values_only=True) if r[1] == "单位")
    last = header.index("12月下旬")
    assert rows["五通桥区"][last] == 8425 and rows["合计"][last] == 70730
    assert rows["市属基层（合计）"][2] == 14207 and rows["市属基层（合计）"][last] == CITY_LEVEL
    assert rows["峨眉山景区管委会"][2] is None  # no longer charged the whole block's base
    # Summons over the year, as the issued circulars said (五通桥: 8 in a row at 12-20, + 2 + 1).
    assert rows["五通桥区"][header.index("约谈次数")] == 10


@pytest.mark.slow
def test_the_monthly_circular_and_the_notices(campaign, tmp_path: Path):
    cfg, _ = campaign
    monthly = cfg.model_copy(
        update={"circular": cfg.circular.model_copy(update={"every": "month"})}
    )
    with job.open_ledger(cfg) as ledger:
        september = phase.standings_for(monthly, ledger, Period.parse("2015-09-30"))
        dekad = phase.standings_for(cfg, ledger, Period.parse("2015-09-30"))
        # The month: every unit sent a form in one of September's dekads (五通桥: 09-10, 09-20).
        assert september.reported_count == 22 and dekad.reported_count == 4
        table = phase.standings_for(cfg, ledger, Period.parse("2015-09-10"))
    written = notices.write_notices(cfg, table, tmp_path)
    assert sorted(p.name for p in written) == sorted(
        f"{u}约谈通知书{s}" for u in ("乐电公司", "夹江县", "五通桥区") for s in (".docx", ".pdf")
    )
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "五通桥区约谈通知书.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\n", "")
    assert "完成目标任务8,425名的14.2%" in text and "2015年9月13日9时30分" in text
