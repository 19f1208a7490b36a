"""The desk over HTTP (Starlette's TestClient on the real application and a real ledger):
every page and action, and the refusals — not signed in, missing or wrong CSRF token, a clerk
sending the circular, path traversal, another period's message."""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from conftest import SMTP_PASSWORD
from desk_support import (
    MABIAN,
    PERIOD,
    Desk,
    client,
    copy_sample,
    csrf_of,
    ingest_hostile,
    ingest_mail,
    login,
    require_sign_off,
    standing,
)
from messages import to_mailbox
from openpyxl import load_workbook
from ruamel.yaml import YAML
from test_delivery import RECIPIENTS, delivery_section

from pipeline.ledger import originals

FORMS = Path(__file__).parent / "fixtures" / "forms"
PAGES = [
    "/overview",
    f"/overview/{PERIOD}/chart.svg",
    "/register",
    f"/register?period={PERIOD}&outcome=review",
    "/register.xlsx",
    "/queue",
    f"/queue/{PERIOD}/{MABIAN}",
    "/phone",
    "/units",
    "/units/马边县",
    "/circular",
    f"/circular/{PERIOD}/preview.html",
    f"/circular/{PERIOD}/circular.pdf",
    f"/circular/{PERIOD}/standings.xlsx",
    f"/circular/{PERIOD}/page/1.png",
    "/settings",
    f"/messages/{MABIAN}",
    f"/messages/{MABIAN}/original.eml",
]


@pytest.fixture
def workspace(desk_sample: Path, tmp_path: Path) -> Path:
    return copy_sample(desk_sample, tmp_path / "ws")


@pytest.fixture
def leader(workspace: Path) -> Desk:
    desk = Desk(client(workspace), workspace)
    assert login(desk.client, "王科长") == 303
    return desk


@pytest.fixture
def clerk(workspace: Path) -> Desk:
    desk = Desk(client(workspace), workspace)
    assert login(desk.client, "小李") == 303
    return desk


def outcome(desk: Desk, number: int) -> str:
    with desk.ledger() as ledger:
        row = ledger.message(number)
    assert row is not None
    return str(row.outcome)


# ── signing in ─────────────────────────────────────────────────
def test_every_page_needs_a_session(workspace: Path) -> None:
    anonymous = client(workspace)
    for page in PAGES:
        response = anonymous.get(page)
        assert response.status_code == 303, page
        assert response.headers["location"].startswith("/login?next=")
    refused = anonymous.post(f"/queue/{PERIOD}/{MABIAN}/approve", data={"unit": "马边县"})
    assert refused.status_code == 401
    assert "未登录" in refused.text
    assert outcome(Desk(anonymous, workspace), MABIAN) == "review"


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_it(workspace: Path) -> None:
    desk = Desk(client(workspace), workspace)
    token = csrf_of(desk.client.get("/login").text)
    response = desk.client.post(
        "/login", data={"csrf": token, "name": "小李", "password": "clerk-password-1"}
    )
    cookie = response.headers["set-cookie"]
    assert response.status_code == 303
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert desk.client.get("/overview").status_code == 200
    assert desk.client.post("/logout", data={"csrf": desk.csrf()}).status_code == 303
    assert desk.client.get("/overview").status_code == 303


def test_login_refuses_wrong_passwords_then_throttles(workspace: Path) -> None:
    desk = Desk(client(workspace), workspace)
    assert login(desk.client, "小李", "wrong-password") == 401
    assert login(desk.client, "无此人", "wrong-password") == 401
    for _ in range(4):
        login(desk.client, "小李", "wrong-password")
    # Five failures: even the right password waits now.
    token = csrf_of(desk.client.get("/login").text)
    page = desk.client.post(
        "/login", data={"csrf": token, "name": "小李", "password": "clerk-password-1"}
    )
    assert page.status_code == 401
    assert "次数过多" in page.text


def test_login_form_needs_its_csrf_token(workspace: Path) -> None:
    anonymous = client(workspace)
    anonymous.get("/login")
    response = anonymous.post(
        "/login", data={"csrf": "forged", "name": "小李", "password": "clerk-password-1"}
    )
    assert response.status_code == 403
    assert "xunbao_session" not in response.headers.get("set-cookie", "")


def test_login_never_redirects_off_site(workspace: Path) -> None:
    anonymous = client(workspace)
    token = csrf_of(anonymous.get("/login?next=//evil.example/").text)
    response = anonymous.post(
        "/login",
        data={
            "csrf": token,
            "name": "小李",
            "password": "clerk-password-1",
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/overview"


# ── pages ──────────────────────────────────────────────────────
def test_every_page_renders_with_security_headers(clerk: Desk) -> None:
    for page in PAGES:
        response = clerk.client.get(page, follow_redirects=True)  # /queue: to its first item
        assert response.status_code == 200, (page, response.text[:300])
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "unsafe-eval" not in headers["content-security-policy"]
        if headers["content-type"].startswith("text/html"):
            assert "script-src 'self'" in headers["content-security-policy"] or (
                page.endswith("preview.html")
                and "script-src" not in headers["content-security-policy"]
            )
    overview = clerk.client.get(f"/overview?period={PERIOD}").text
    for shown in ("2015年9月中旬概况", "未报送", "待审核邮件", "马边县"):
        assert shown in overview


def test_header_bar_reaches_every_page_in_one_click(clerk: Desk) -> None:
    page = clerk.client.get("/overview").text
    for href, label in [
        ("/overview", "本旬概况"),
        ("/register", "收件登记"),
        ("/queue", "待审核"),
        ("/phone", "电话录入"),
        ("/units", "单位"),
        ("/circular", "通报"),
        ("/settings", "配置"),
    ]:
        assert f'<a href="{href}"' in page and label in page


def test_register_filters_and_exports(clerk: Desk) -> None:
    held = clerk.client.get(f"/register?period={PERIOD}&outcome=review").text
    assert "共 3 封" in held
    mabian = clerk.client.get("/register?unit=马边县").text
    assert "共 0 封" in mabian  # its only mail is held, with no unit yet
    export = clerk.client.get(f"/register.xlsx?period={PERIOD}")
    assert "attachment" in export.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    # a title row, a subtitle row, the header, then one row per message (then the legend)
    assert rows[2][0] == "编号" and sum(isinstance(r[0], int) for r in rows) == 25
    assert {r[5] for r in rows[3:] if isinstance(r[0], int)} == {"计入", "待审核", "忽略"}


def test_original_downloads_as_the_eml_it_was(clerk: Desk, workspace: Path) -> None:
    response = clerk.client.get(f"/messages/{MABIAN}/original.eml")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-type"] == "message/rfc822"
    with clerk.ledger() as ledger:
        row = ledger.message(MABIAN)
    assert row is not None
    assert hashlib.sha256(response.content).hexdigest() == row.sha256
    stored = originals.path_of(workspace.parent / "data/originals", row.sha256)
    assert gzip.decompress(stored.read_bytes()) == response.content
    assert stored.stat().st_size < len(response.content)


def test_queue_shows_the_form_inline_and_prefills_approval(clerk: Desk) -> None:
    page = clerk.client.get(f"/queue/{PERIOD}/{MABIAN}").text
    assert "wangli1988@qq.com" in page and "马边县旬报表" in page
    assert "2015-09-19 20:31" in page  # local arrival time
    assert "不是任何单位登记的报送邮箱" in page  # why it was held
    assert "<td>已完成目标任务数</td>" in page or "已完成目标任务数" in page  # the sheet, as cells
    assert "<option selected>马边县</option>" in page
    assert 'value="1000"' in page


# ── actions ────────────────────────────────────────────────────
def test_approve_counts_names_the_account_and_moves_on(clerk: Desk) -> None:
    before = clerk.client.get(f"/circular?period={PERIOD}").text
    assert standing(before, "马边县")[2:4] == ["1,965", "待核实"]
    response = clerk.client.post(
        f"/queue/{PERIOD}/{MABIAN}/approve",
        data={"csrf": clerk.csrf(), "unit": "马边县", "value": "1000"},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/queue/{PERIOD}/")
    assert outcome(clerk, MABIAN) == "counted"
    with clerk.ledger() as ledger:
        action = ledger.actions()[-1]
    assert (action.kind, action.actor, action.value) == ("approve", "小李", 1000)
    after = clerk.client.get(f"/circular?period={PERIOD}").text
    assert standing(after, "马边县")[2:4] == ["1,965", "1,000"]


def test_actions_refuse_missing_or_wrong_csrf(clerk: Desk) -> None:
    for data in ({"unit": "马边县"}, {"unit": "马边县", "csrf": "forged"}):
        response = clerk.client.post(f"/queue/{PERIOD}/{MABIAN}/approve", data=data)
        assert response.status_code == 403
        assert "表单已过期" in response.text
    assert outcome(clerk, MABIAN) == "review"


def test_reject_needs_a_reason(clerk: Desk) -> None:
    url = f"/queue/{PERIOD}/{MABIAN}/reject"
    empty = clerk.client.post(url, data={"csrf": clerk.csrf(), "reason": "  "})
    assert empty.status_code == 400 and "理由" in empty.text
    assert outcome(clerk, MABIAN) == "review"
    done = clerk.client.post(url, data={"csrf": clerk.csrf(), "reason": "个人邮箱，已电话核实"})
    assert done.status_code == 303
    assert outcome(clerk, MABIAN) == "ignored"


def test_another_periods_message_is_refused(clerk: Desk) -> None:
    other = "2015-09-10"
    assert clerk.client.get(f"/queue/{other}/{MABIAN}").status_code == 404
    response = clerk.client.post(
        f"/queue/{other}/{MABIAN}/approve", data={"csrf": clerk.csrf(), "unit": "马边县"}
    )
    assert response.status_code == 404
    assert "不属于" in response.text
    assert outcome(clerk, MABIAN) == "review"


def test_bad_input_gets_a_chinese_message_and_changes_nothing(clerk: Desk) -> None:
    url = f"/queue/{PERIOD}/{MABIAN}/approve"
    for data, said in (
        ({"unit": "马边县", "value": "一千"}, "整数"),
        ({"unit": "火星县", "value": "10"}, "火星县"),
        ({"unit": "马边县", "value": "-5"}, "负数"),
    ):
        response = clerk.client.post(url, data={"csrf": clerk.csrf(), **data})
        assert response.status_code == 400 and said in response.text
    assert outcome(clerk, MABIAN) == "review"
    assert clerk.client.get("/overview?period=2015-09-19").status_code == 400


def test_phone_record_is_counted_with_its_recorder(clerk: Desk) -> None:
    response = clerk.client.post(
        "/phone",
        data={
            "csrf": clerk.csrf("/phone"),
            "period": PERIOD,
            "unit": "嘉阳集团",
            "value": "12",
            "note": "电话报送",
        },
    )
    assert response.status_code == 303
    page = clerk.client.get(f"/phone?period={PERIOD}").text
    assert "嘉阳集团" in page and "小李" in page
    circular = clerk.client.get(f"/circular?period={PERIOD}").text
    assert standing(circular, "嘉阳集团")[2:4] == ["50", "12"]


def test_only_a_leader_sends_the_circular(clerk: Desk) -> None:
    response = clerk.client.post(f"/circular/{PERIOD}/send", data={"csrf": clerk.csrf()})
    assert response.status_code == 403
    assert "签发领导" in response.text


# ── hostile input ──────────────────────────────────────────────
def test_path_traversal_finds_nothing(clerk: Desk) -> None:
    for url in (
        f"/messages/{MABIAN}/attachments/..%2F..%2F..%2Fetc%2Fpasswd/1.png",
        f"/messages/{MABIAN}/attachments/../../../../etc/passwd",
        f"/messages/{MABIAN}/attachments/99/1.png",
        f"/messages/{MABIAN}/attachments/0/99.png",
        "/static/..%2F..%2Fconfig.py",
        "/static/../../../etc/passwd",
        "/units/..%2F..%2Fetc%2Fpasswd",
    ):
        response = clerk.client.get(url)
        assert response.status_code == 404, url
        assert b"root:" not in response.content and b"import" not in response.content


def test_out_of_range_ids_and_periods_are_not_found(clerk: Desk) -> None:
    huge = "99999999999999999999999"
    for url in (
        f"/messages/{huge}",
        f"/messages/{2**63}/original.eml",
        f"/messages/{MABIAN}/attachments/{huge}/1.png",
        f"/messages/{MABIAN}/attachments/0/{huge}.png",
        f"/queue/{PERIOD}/{huge}",
        f"/circular/{PERIOD}/page/{huge}.png",
        "/overview?period=9999-12-30",
        "/overview?period=9999-12-31",
        "/overview/9999-12-31/chart.svg",
        "/overview?period=0001-01-10",
        "/circular?period=9999-12-31",
        "/circular/9999-12-31/preview.html",
    ):
        response = clerk.client.get(url)
        assert response.status_code in (400, 404), (url, response.status_code)
    # A filter that matches nothing is an empty register, not a failure.
    assert clerk.client.get(f"/register?period=9999-12-31&number={huge}").status_code == 200
    for url in (f"/messages/{huge}", "/overview?period=9999-12-30"):
        assert clerk.client.get(url).status_code == 404, url


def test_hostile_attachments_are_served_inert(clerk: Desk, workspace: Path) -> None:
    number = ingest_hostile(workspace)
    page = clerk.client.get(f"/queue/{PERIOD}/{number}")
    text = page.text
    assert page.status_code == 200
    # Script and markup from the mail are text on the page, never markup.
    assert "<script>fetch" not in text and "<script>alert" not in text
    assert "&lt;script&gt;fetch(&#39;/beacon?html&#39;)" in text
    assert "onload=" not in text.replace("onload=&#34;", "").replace("onload=&quot;", "")
    assert "&lt;svg" in text
    # The PDF is a picture made here: PNG bytes, never the PDF.
    image = clerk.client.get(f"/messages/{number}/attachments/2/1.png")
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert image.headers["cache-control"] == "no-store"
    assert b"JavaScript" not in image.content
    # The SVG is not served as an image at all: it is shown as source text.
    assert clerk.client.get(f"/messages/{number}/attachments/1/1.png").status_code == 404
    # The subject, a formula, stays text in the export.
    export = clerk.client.get(f"/register.xlsx?period={PERIOD}&outcome=review")
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    cell = next(c for c in sheet["D"] if str(c.value).startswith("=HYPERLINK"))
    assert cell.data_type == "s"


def test_a_leader_sends_the_circular_once_per_recipient(
    workspace: Path, smtp: Any, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp()
    server.start()
    yaml = YAML()
    tree = yaml.load(workspace.read_text(encoding="utf-8"))
    tree["delivery"] = delivery_section(server.port, certificate[0])
    with workspace.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)
    monkeypatch.setenv("XUNBAO_SMTP_PASSWORD", SMTP_PASSWORD)
    leader = Desk(client(workspace), workspace)
    assert login(leader.client, "王科长") == 303
    page = leader.client.get(f"/circular?period={PERIOD}").text
    assert RECIPIENTS[0] in page
    for _ in range(2):  # pressed twice: the second finds everyone served
        sent = leader.client.post(f"/circular/{PERIOD}/send", data={"csrf": leader.csrf()})
        assert sent.status_code == 303
    assert sorted(r for r, _ in server.received()) == sorted(RECIPIENTS)
    shown = leader.client.get(sent.headers["location"]).text
    assert "通报已发送给 0 位收件人（此前已发送 2 位）" in shown
    assert all(r in shown for r in RECIPIENTS)


def test_a_quarantined_message_is_read_again_on_request(clerk: Desk) -> None:
    from pipeline.reading.sandbox import QUARANTINED

    with clerk.ledger() as ledger:
        before = ledger.message(MABIAN)
        assert before is not None and before.outcome == "review"
        ledger.decide(MABIAN, "review", QUARANTINED, None, "xunbao")  # two runs died on it
    page = clerk.client.get(f"/messages/{MABIAN}").text
    assert f'action="/messages/{MABIAN}/reread"' in page and "重新读取" in page
    response = clerk.client.post(f"/messages/{MABIAN}/reread", data={"csrf": clerk.csrf()})
    assert response.status_code == 303
    with clerk.ledger() as ledger:
        after = ledger.message(MABIAN)
        actions = [a for a in ledger.actions() if a.message == MABIAN]
    # Read again in the sandbox and judged as new mail: held for what it is, not quarantine.
    assert after is not None and after.outcome == "review" and after.reason == before.reason
    assert (actions[-1].kind, actions[-1].actor) == ("reread", "小李")
    page = clerk.client.get(f"/messages/{MABIAN}").text
    assert f'action="/messages/{MABIAN}/reread"' not in page and "重新读取" in page  # the action
    # Only a message that could not be read may be read again.
    again = clerk.client.post(f"/messages/{MABIAN}/reread", data={"csrf": clerk.csrf()})
    assert again.status_code == 400


def test_reopen_puts_a_counted_message_back_in_the_queue(clerk: Desk) -> None:
    counted = 9  # 夹江县, counted from its mail
    assert outcome(clerk, counted) == "counted"
    url = f"/messages/{counted}/reopen"
    assert clerk.client.post(url, data={"reason": "x"}).status_code == 403  # no CSRF token
    empty = clerk.client.post(url, data={"csrf": clerk.csrf(), "reason": " "})
    assert empty.status_code == 400
    done = clerk.client.post(url, data={"csrf": clerk.csrf(), "reason": "单位来电更正"})
    assert done.status_code == 303
    assert outcome(clerk, counted) == "review"
    with clerk.ledger() as ledger:
        assert ledger.actions()[-1].actor == "小李"


def test_only_a_leader_signs_and_the_state_is_shown(clerk: Desk) -> None:
    overview = clerk.client.get(f"/overview?period={PERIOD}").text
    assert "本旬状态" in overview and "已截止" not in overview.split("本旬状态")[0][-60:]
    refused = clerk.client.post(f"/circular/{PERIOD}/sign", data={"csrf": clerk.csrf()})
    assert refused.status_code == 403 and "签发领导" in refused.text
    assert "本旬状态" in clerk.client.get(f"/circular?period={PERIOD}").text


def test_a_leader_signs_the_draft_and_it_becomes_version_one(workspace: Path) -> None:
    require_sign_off(workspace, "王科长")
    leader = Desk(client(workspace), workspace)
    assert login(leader.client, "王科长") == 303
    page = leader.client.get(f"/circular?period={PERIOD}").text
    assert "签发（王科长）" in page
    signed = leader.client.post(f"/circular/{PERIOD}/sign", data={"csrf": leader.csrf()})
    assert signed.status_code == 303
    assert "已由 王科长 签发。通报第 1 版已定稿" in unquote_plus(signed.headers["location"])
    with leader.ledger() as ledger:
        versions = ledger.versions(PERIOD)
    assert [(v.version, v.signed_by) for v in versions] == [(1, "王科长")]
    shown = leader.client.get(signed.headers["location"]).text
    assert "第 1 版" in shown and "王科长" in shown and "签发（王科长）" not in shown
    # no mail server configured: the state never says it went out
    assert "没有发出" in shown and "已发出（第 1 版）" not in shown
    again = leader.client.post(f"/circular/{PERIOD}/sign", data={"csrf": leader.csrf()})
    assert again.status_code == 303  # back to the page, which says why: no dead end
    assert "内容没有变化" in leader.client.get(again.headers["location"]).text


def test_the_draft_a_leader_signs_is_the_circular_issued(workspace: Path) -> None:
    """The 通报 page shows the circular as it would go out: after a change to an issued
    one, the correction with its 更正说明; signing issues exactly that page."""
    require_sign_off(workspace, "王科长")
    leader = Desk(client(workspace), workspace)
    assert login(leader.client, "王科长") == 303
    leader.client.post(f"/circular/{PERIOD}/sign", data={"csrf": leader.csrf()})
    approved = leader.client.post(
        f"/queue/{PERIOD}/{MABIAN}/approve",
        data={"csrf": leader.csrf(), "unit": "马边县", "value": "1000"},
    )
    assert approved.status_code == 303 and outcome(leader, MABIAN) == "counted"
    preview = leader.client.get(f"/circular/{PERIOD}/preview.html").text
    assert "更正说明" in preview and "马边县由待核实更正为已报送" in preview
    draft = leader.client.get(f"/circular/{PERIOD}/circular.pdf").content
    signed = leader.client.post(f"/circular/{PERIOD}/sign", data={"csrf": leader.csrf()})
    assert "通报第 2 版（更正）已定稿" in unquote_plus(signed.headers["location"])
    issued = workspace.parent / "out" / PERIOD / "circular-v2.pdf"

    def text(pdf: bytes) -> str:
        run = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
        return run.stdout.decode()

    assert "更正说明" in text(draft) and text(draft) == text(issued.read_bytes())


def phone_photo(tmp_path: Path) -> bytes:
    """A phone's photo of the printed form: large, stored on its side with an EXIF
    orientation, a script in its EXIF and another one after the JPEG's end."""
    from PIL import Image

    page = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(FORMS / "form.pdf"), str(page)],
        check=True,
    )
    with Image.open(page.with_suffix(".png")) as scan:
        sideways = scan.convert("RGB").rotate(90, expand=True).resize((3000, 2100))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to show"
    exif[0x010F] = "<script>fetch('/beacon?exif')</script>"  # Make
    out = io.BytesIO()
    sideways.save(out, format="JPEG", quality=80, exif=exif)
    return out.getvalue() + b"<script>fetch('/beacon?jpg')</script>"


def test_a_phone_photo_is_shown_upright_as_pixels_only(clerk: Desk, workspace: Path) -> None:
    from PIL import Image

    photo = phone_photo(workspace.parent)
    message = to_mailbox(
        "zhang.san.1990@qq.com",
        "旬报（手机拍照）",
        "Sat, 19 Sep 2015 11:00:00 +0800",
        "<photo-1@example.com>",
        "报表拍照发来，请查收。",
    )
    message.add_attachment(photo, "image", "jpeg", filename="IMG_20150919.jpg")
    number = ingest_mail(workspace, bytes(message), "<photo-1@example.com>")
    assert outcome(clerk, number) == "review"  # an unregistered sender is always held

    page = clerk.client.get(f"/queue/{PERIOD}/{number}").text
    assert f'src="/messages/{number}/attachments/0/1.png"' in page
    shown = clerk.client.get(f"/messages/{number}/attachments/0/1.png")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert b"<script>" not in shown.content and b"Exif" not in shown.content
    with Image.open(io.BytesIO(shown.content)) as picture:
        assert picture.format == "PNG"
        assert max(picture.size) <= 1600  # re-encoded at the desk's size, not the camera's
        assert picture.height > picture.width  # turned upright as the EXIF says
