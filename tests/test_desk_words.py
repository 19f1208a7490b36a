"""No desk page speaks the CLI: a crawl of every page a clerk and a leader can reach (and
the pages an action comes back with) finds no flag, no `xunbao` command, no English
outcome name and no config path in what the browser shows."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import urldefrag

import pytest
from desk_support import MABIAN, PERIOD, Desk, client, copy_sample, login, require_sign_off

SECTIONS = (
    "campaign|units|groups|schedule|mailbox|storage|limits|output|rules|circular|"
    "delivery|reminders|desk|form"
)
CLI_WORDS = [
    re.compile(r"(?<![\w-])--[a-z]"),  # a flag
    re.compile(r"\bxunbao\s"),  # a command
    re.compile(r"\b(counted|ignored|review|recorded|withdrawn)\b"),  # an outcome's code
    re.compile(rf"(?<![\w@.])({SECTIONS})(\[\d+\])?\.[a-z_]+"),  # a config path
]
SKIPPED = (".png", ".pdf", ".xlsx", ".eml", ".svg", "/preview.html", "/logout")
HIDDEN = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->", re.S)
SHOWN_ATTRIBUTES = re.compile(r'\b(?:placeholder|title|alt|aria-label)="([^"]*)"')


def shown(page: str) -> str:
    """What a person reads: text and the attributes a browser shows, not URLs or names."""
    page = HIDDEN.sub(" ", page)
    said = " ".join(SHOWN_ATTRIBUTES.findall(page))
    return html.unescape(re.sub(r"<[^>]+>", " ", page) + " " + said)


def problems(url: str, page: str) -> list[str]:
    text = shown(page)
    return [f"{url}: {m.group(0)!r}" for word in CLI_WORDS for m in word.finditer(text)]


def crawl(desk: Desk, start: list[str], limit: int = 300) -> dict[str, str]:
    seen: dict[str, str] = {}
    todo = list(start)
    while todo and len(seen) < limit:
        url = urldefrag(todo.pop(0))[0]
        if url in seen or url.endswith(SKIPPED) or "/static/" in url:
            continue
        response = desk.client.get(url)
        if response.status_code in (301, 302, 303):
            todo.append(response.headers["location"])
            seen[url] = ""
            continue
        seen[url] = response.text
        todo += [html.unescape(h) for h in re.findall(r'href="(/[^"]*)"', response.text)]
    return seen


@pytest.fixture
def workspace(desk_sample: Path, tmp_path: Path) -> Path:
    return copy_sample(desk_sample, tmp_path / "ws")


def test_no_page_shows_cli_words(workspace: Path) -> None:
    require_sign_off(workspace, "王科长")
    found: list[str] = []
    start = ["/overview", "/register", f"/register?period={PERIOD}", "/settings"]
    for who in ("小李", "王科长"):
        desk = Desk(client(workspace), workspace)
        assert login(desk.client, who) == 303
        pages = crawl(desk, start)
        assert len(pages) > 40, sorted(pages)
        for url, page in pages.items():
            found += problems(url, page)
    assert not found, "\n".join(found)


def test_no_page_shows_cli_words_after_a_dekads_work(workspace: Path) -> None:
    """The same crawl once the clerk has decided, sent back, recorded and withdrawn, and
    the leader has signed: the pages then carry the actions' own words."""
    require_sign_off(workspace, "王科长")
    clerk = Desk(client(workspace), workspace)
    assert login(clerk.client, "小李") == 303
    queue = f"/queue/{PERIOD}"
    for url, data in (
        (f"{queue}/{MABIAN}/approve", {"unit": "马边县", "value": "1000"}),
        (f"{queue}/26/approve", {"unit": "峨边县", "value": "200", "confirm": "replaces",
                                 "note": "代报"}),
        (f"{queue}/15/reject", {"reason": "没有旬报表", "notify": "1", "back_unit": "市中区"}),
        ("/phone", {"period": PERIOD, "unit": "其他", "value": "40"}),
    ):  # fmt: skip
        done = clerk.client.post(url, data={"csrf": clerk.csrf(), **data})
        assert done.status_code == 303, (url, done.text[-2000:])
    page = clerk.client.get(f"/phone?period={PERIOD}").text
    number = re.search(r'action="/phone/(\d+)/withdraw"', page)
    assert number
    clerk.client.post(
        f"/phone/{number.group(1)}/withdraw", data={"csrf": clerk.csrf(), "reason": "报错了"}
    )
    leader = Desk(client(workspace), workspace)
    assert login(leader.client, "王科长") == 303
    signed = leader.client.post(f"/circular/{PERIOD}/sign", data={"csrf": leader.csrf()})
    found: list[str] = []
    for desk, extra in ((clerk, []), (leader, [signed.headers["location"]])):
        pages = crawl(desk, [*extra, "/overview", f"/register?period={PERIOD}", "/phone"])
        for url, page in pages.items():
            found += problems(url, page)
    assert not found, "\n".join(found)


def test_no_refusal_shows_cli_words(workspace: Path) -> None:
    """The pages actions come back with: errors, checks, refusals."""
    require_sign_off(workspace, "王科长")
    desk = Desk(client(workspace), workspace)
    assert login(desk.client, "小李") == 303
    queue = f"/queue/{PERIOD}/{MABIAN}"
    posts = [
        (f"{queue}/approve", {"unit": "马边县", "value": "99999"}),
        (f"{queue}/approve", {"unit": "市中区", "value": "10"}),
        (f"{queue}/approve", {"unit": "", "value": ""}),
        (f"{queue}/reject", {"reason": ""}),
        (f"/messages/{MABIAN}/reopen", {"reason": ""}),
        ("/phone", {"period": PERIOD, "unit": "马边县", "value": "99999"}),
        ("/phone", {"period": PERIOD, "unit": "", "value": "x"}),
        (f"/circular/{PERIOD}/send", {}),
        (f"{queue}/approve", {"unit": "马边县", "value": "1000"}),
        (f"{queue}/approve", {"unit": "马边县", "value": "1000"}),  # no longer held
    ]
    found: list[str] = []
    for url, data in posts:
        response = desk.client.post(url, data={"csrf": desk.csrf(), **data})
        found += problems(f"POST {url}", response.text)
    assert not found, "\n".join(found)
