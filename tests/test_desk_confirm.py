"""The checks the CLI overrides with its force flag, as a second step in the desk: the
reason, the figures compared, a required note, 仍然计入 — and forms that keep the work."""

from __future__ import annotations

from pathlib import Path

from desk_support import MABIAN, PERIOD, Desk

from pipeline import config as config_module
from pipeline.clerk import review
from pipeline.errors import NeedsConfirmation
from pipeline.ledger.detail import FormSaid, MessageDetail
from pipeline.ledger.records import MessageRecord

ON_BEHALF = 26  # 沐川县's address sends 峨边县's form (200); 峨边县 already counted 180


def outcome(desk: Desk, number: int) -> tuple[str, str]:
    with desk.ledger() as ledger:
        row = ledger.message(number)
    assert row is not None
    return row.outcome, row.reason


def approve(desk: Desk, number: int, **data: str) -> tuple[int, str]:
    response = desk.client.post(
        f"/queue/{PERIOD}/{number}/approve", data={"csrf": desk.csrf(), **data}
    )
    return response.status_code, response.text


def test_a_figure_over_the_target_is_confirmed_with_a_note(clerk: Desk) -> None:
    status, page = approve(clerk, MABIAN, unit="马边县", value="99999")
    assert status == 409
    assert "超过其目标任务数 1,965 的 3 倍" in page and "--force" not in page
    assert '<td class="num">99,999</td>' in page and '<td class="num">5,895</td>' in page
    assert 'name="confirm" value="too_high:"' in page and "仍然计入" in page
    assert outcome(clerk, MABIAN)[0] == "review"
    # 仍然计入 without a note: the same step again, the note asked for beside its field
    status, page = approve(clerk, MABIAN, unit="马边县", value="99999", confirm="too_high:")
    assert status == 400 and "请写明核实情况" in page and "仍然计入" in page
    assert outcome(clerk, MABIAN)[0] == "review"
    status, _ = approve(
        clerk, MABIAN, unit="马边县", value="99999", confirm="too_high:", note="已电话核实"
    )
    assert status == 303
    said, reason = outcome(clerk, MABIAN)
    assert said == "counted" and "99999" in reason and "已电话核实" in reason


def test_a_report_sent_for_another_unit_is_confirmed_over_its_counted_one(clerk: Desk) -> None:
    status, page = approve(clerk, ON_BEHALF, unit="峨边县", value="200")
    assert status == 409
    assert "峨边县 在 2015-09-20 已有计入的报表" in page
    assert "第 25 号邮件" in page and '<td class="num">180</td>' in page
    assert 'name="confirm" value="replaces"' in page
    status, _ = approve(
        clerk, ON_BEHALF, unit="峨边县", value="200", confirm="replaces", note="峨边县委托代报"
    )
    assert status == 303 and outcome(clerk, ON_BEHALF)[0] == "counted"


def test_two_checks_are_confirmed_one_after_the_other(clerk: Desk) -> None:
    """市中区 had 1,203 last dekad and 2,650 counted this one: 1,000 is lower than the one
    and would replace the other."""
    status, page = approve(clerk, MABIAN, unit="市中区", value="1000")
    assert status == 409 and "低于此前已确认的 1,203" in page
    status, page = approve(
        clerk, MABIAN, unit="市中区", value="1000", confirm="below_previous:", note="单位更正"
    )
    assert status == 409 and "已有计入的报表" in page
    assert 'name="confirmed" value="below_previous:"' in page
    assert outcome(clerk, MABIAN)[0] == "review"
    status, _ = approve(
        clerk,
        MABIAN,
        unit="市中区",
        value="1000",
        confirmed="below_previous:",
        confirm="replaces",
        note="单位更正",
    )
    assert status == 303 and outcome(clerk, MABIAN)[0] == "counted"


def test_an_error_shows_the_form_again_with_the_input_kept(clerk: Desk) -> None:
    status, page = approve(clerk, MABIAN, unit="马边县", value="一千")
    assert status == 400 and "完成数应为整数" in page
    assert 'value="一千"' in page and "<option selected>马边县</option>" in page
    assert 'action="/queue/2015-09-20/21/approve"' in page  # the form, not a dead end
    response = clerk.client.post(
        f"/queue/{PERIOD}/{MABIAN}/reject", data={"csrf": clerk.csrf(), "reason": " "}
    )
    assert response.status_code == 400 and "驳回时请写明理由" in response.text
    assert "--reason" not in response.text and 'name="reason"' in response.text


def test_a_decided_message_sent_again_says_so_without_cli_words(clerk: Desk) -> None:
    assert approve(clerk, MABIAN, unit="马边县", value="1000")[0] == 303
    status, page = approve(clerk, MABIAN, unit="马边县", value="1000")
    assert status == 400 and "不在待审核队列中（当前结果：计入）" in page
    assert "xunbao" not in page and "counted" not in page
    assert f'href="/messages/{MABIAN}"' in page


def test_an_emptied_metric_is_not_taken_from_the_form() -> None:
    config = config_module.load(Path("examples/2019-work-points.yaml")).config
    first, second = (m.key for m in config.metrics[:2])
    row = MessageRecord(
        1, "", "", "", "", "", None, "", None, "review", "", None, None,
        noted=MessageDetail(said=FormSaid(figures={first: 10, second: 20})).to_json(),
    )  # fmt: skip
    assert review.chosen_figures(config, row, None, None, {second: None}) == ((first, 10),)
    assert review.chosen_figures(config, row, None, None, {}) == ((first, 10), (second, 20))


def test_the_domain_says_no_flag_and_the_cli_adds_it() -> None:
    from pipeline.cli import hinted

    check = NeedsConfirmation("数字偏大，请核实。", "too_high", (("本次", "1"),), "too_high:")
    assert "--" not in str(check) and hinted(check).endswith("确认无误请加 --force。")


def test_a_refusal_links_back_to_the_page_it_came_from(clerk: Desk) -> None:
    other = "2015-09-10"  # the message is not of that period: refused, with a way back
    response = clerk.client.post(
        f"/queue/{other}/{MABIAN}/approve", data={"csrf": clerk.csrf(), "unit": "马边县"}
    )
    assert response.status_code == 404
    assert f'href="/queue/{other}/{MABIAN}">返回刚才的页面' in response.text


def test_the_state_says_可以发送_only_when_nothing_is_held() -> None:
    from pipeline.issuance import PeriodState
    from pipeline.standings.periods import Period

    period = Period.parse(PERIOD)
    held = PeriodState(period, "ready", 3, ("马边县",), "f", None, None, None)
    assert "可以发送" not in held.label and "仍有 3 封邮件待审核" in held.label
    clear = PeriodState(period, "ready", 0, (), "f", None, None, None)
    assert clear.label == "可以发送"
