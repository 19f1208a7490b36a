"""The desk's previews are made in the sandbox, once, within a pixel budget; the desk's own
process parses no mail and imports no reader; a mail that killed a reader is not opened."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from desk_support import Desk, client, copy_sample, ingest_hostile, login
from PIL import Image
from test_sandbox import max_dimension_xlsx
from test_walls import listener

from pipeline.reading.sandbox import QUARANTINED

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def workspace(desk_sample: Path, tmp_path: Path) -> Path:
    return copy_sample(desk_sample, tmp_path / "ws")


@pytest.fixture
def clerk(workspace: Path) -> Desk:
    desk = Desk(client(workspace), workspace)
    assert login(desk.client, "小李") == 303
    return desk


def pixel_bomb_pdf(pages: int = 12, side: int = 14173) -> bytes:
    """`pages` blank pages of `side` points (14173 pt: 5 m) square: 1.4 KB, and at 80 dpi
    each page a bitmap of 248 million pixels."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    for _ in range(pages):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {side} {side}] >>".encode())
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def ingest_attachment(workspace: Path, name: str, data: bytes, tag: str) -> int:
    """A mail with one attachment through the real intake, under a ref of its own."""
    from messages import to_mailbox

    from pipeline import config as config_module
    from pipeline.mailbox.directory import DirectorySource
    from pipeline.service import job

    message_id = f"<preview-{tag}@example.com>"
    date = "Sat, 19 Sep 2015 10:00:00 +0800"
    message = to_mailbox("attacker@example.com", f"旬报 {tag}", date, message_id, "请查收附件。")
    message.add_attachment(data, "application", "octet-stream", filename=name)
    inbox = workspace.parent / f"inbox-{tag}"
    inbox.mkdir()
    (inbox / f"{tag}.eml").write_bytes(bytes(message))
    config = config_module.load(workspace).config
    with job.open_ledger(config) as ledger:
        job.ingest(config, ledger, DirectorySource(inbox))
        row = ledger.db.execute("SELECT id FROM messages WHERE message_id = ?", (message_id,))
        return int(row.fetchone()["id"])


def sha_of(desk: Desk, number: int) -> str:
    with desk.ledger() as ledger:
        row = ledger.message(number)
    assert row is not None
    return row.sha256


def test_a_preview_is_made_in_the_sandbox_once_and_kept_privately(
    clerk: Desk, workspace: Path
) -> None:
    number = ingest_hostile(workspace)
    assert clerk.client.get(f"/messages/{number}").status_code == 200
    kept = _previews(workspace) / sha_of(clerk, number)
    assert (kept / "show.json").is_file()
    image = clerk.client.get(f"/messages/{number}/attachments/2/1.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert (kept / "2-1.png").read_bytes() == image.content
    assert kept.stat().st_mode & 0o777 == 0o700
    assert {p.stat().st_mode & 0o777 for p in kept.iterdir()} == {0o600}
    made = {p.name: p.stat().st_mtime_ns for p in kept.iterdir()}
    clerk.client.get(f"/messages/{number}")
    assert clerk.client.get(f"/messages/{number}/attachments/2/1.png").content == image.content
    assert {p.name: p.stat().st_mtime_ns for p in kept.iterdir()} == made  # made once


def _previews(workspace: Path) -> Path:
    return workspace.parent / "data" / "previews"  # beside the ledger


def test_a_page_of_5_metres_is_drawn_within_the_pixel_budget(clerk: Desk, workspace: Path) -> None:
    from pipeline import config as config_module
    from pipeline.desk import previews
    from pipeline.ledger import originals

    number = ingest_attachment(workspace, "旬报.pdf", pixel_bomb_pdf(), "bomb")
    # Its reader died at intake: the desk does not open it again.
    page = clerk.client.get(f"/messages/{number}")
    assert page.status_code == 200 and "无法预览" in page.text
    assert clerk.client.get(f"/messages/{number}/attachments/0/1.png").status_code == 404
    # Previewed all the same (as after 重新读取 with wider limits): within the budget.
    config = config_module.load(workspace).config
    sha = sha_of(clerk, number)
    raw = originals.load(originals.folder(config), sha)
    assert raw is not None
    assert previews.preview(config, sha, raw).shown[0].pages == 12
    started = time.monotonic()
    image = previews.image(config, sha, raw, 0, 12)
    assert time.monotonic() - started < 20
    assert image is not None and max(Image.open(io.BytesIO(image)).size) <= 1600


def test_the_max_dimension_sheet_opens_in_the_desk(clerk: Desk, workspace: Path) -> None:
    number = ingest_attachment(workspace, "旬报.xlsx", max_dimension_xlsx(), "xfd")
    for _ in range(2):  # the second from what was kept
        page = clerk.client.get(f"/messages/{number}")
        assert page.status_code == 200
        assert "无法预览" in page.text


def test_a_quarantined_mail_shows_no_preview_only_the_download(
    clerk: Desk, workspace: Path
) -> None:
    number = ingest_hostile(workspace)
    with clerk.ledger() as ledger:
        ledger.decide(number, "review", QUARANTINED, None, "xunbao")
    page = clerk.client.get(f"/messages/{number}").text
    assert "无法预览" in page and f"/messages/{number}/original.eml" in page
    assert f"/messages/{number}/attachments/" not in page
    assert not (_previews(workspace) / sha_of(clerk, number)).exists()  # never opened
    assert clerk.client.get(f"/messages/{number}/attachments/2/1.png").status_code == 404
    assert clerk.client.get(f"/messages/{number}/original.eml").status_code == 200


def test_libreoffice_in_a_preview_fetches_nothing(clerk: Desk, workspace: Path) -> None:
    from test_walls import fetching_files

    with listener() as (port, calls):
        for tag, (name, data) in enumerate(fetching_files(port).items()):
            number = ingest_attachment(workspace, name, data, f"fetch-{tag}")
            assert clerk.client.get(f"/messages/{number}").status_code == 200
    assert calls == []


def test_the_desk_process_parses_no_mail_and_imports_no_reader(workspace: Path) -> None:
    number = ingest_hostile(workspace)
    script = f"""
import sys
sys.path.insert(0, {str(ROOT / "tests")!r})
from pathlib import Path
from desk_support import Desk, client, login
desk = Desk(client(Path({str(workspace)!r})), Path({str(workspace)!r}))
assert login(desk.client, "小李") == 303
assert desk.client.get("/messages/{number}").status_code == 200
assert desk.client.get("/messages/{number}/attachments/2/1.png").status_code == 200
readers = ("pipeline.reading.forms", "pipeline.reading.mails", "python_calamine", "pdfplumber",
           "pipeline.reading.forms.document", "rapidocr_onnxruntime", "onnxruntime", "mailparser")
loaded = [m for m in readers if m in sys.modules]
print("loaded", loaded)
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert "loaded []" in done.stdout, done.stdout


def test_previews_run_two_at_a_time_and_the_desk_answers_meanwhile(workspace: Path) -> None:
    from test_walls import descendants, fetching_files, look

    from pipeline.desk.previews import AT_ONCE

    html = fetching_files(9)["旬报.wps"]  # each preview starts LibreOffice: a second or so
    numbers = [
        ingest_attachment(workspace, "旬报.wps", html + b" " * n, f"slow-{n}") for n in range(5)
    ]
    desks = []
    for _ in numbers:
        desk = Desk(client(workspace), workspace)
        assert login(desk.client, "小李") == 303
        desks.append(desk)
    codes: list[int] = []
    threads = [
        threading.Thread(
            target=lambda d=d, n=n: codes.append(d.client.get(f"/messages/{n}").status_code)
        )
        for d, n in zip(desks, numbers, strict=True)
    ]
    for thread in threads:
        thread.start()
    most, answers = 0, []
    while any(t.is_alive() for t in threads):
        running = [
            pid
            for pid in descendants(os.getpid())
            if (seen := look(pid))
            and seen[0].startswith(f"{sys.executable} -m pipeline.desk.previews")
        ]
        most = max(most, len(running))
        if running and len(answers) < 3:
            started = time.monotonic()
            assert desks[0].client.get("/settings").status_code == 200
            answers.append(time.monotonic() - started)
        time.sleep(0.02)
    for thread in threads:
        thread.join()
    assert codes == [200] * len(numbers)
    assert 1 <= most <= AT_ONCE
    assert answers and max(answers) < 5  # other pages are served while previews are made
