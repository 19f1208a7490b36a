"""Reader processes: hard limits, a dead reader replaced, quarantine, no orphans after kill -9.

The hostile files are real: an .xls whose FAT chains a sector to itself (calamine follows
it until memory runs out), an .xlsx declaring A1:XFD1048576 (calamine aborts the process).
"""

from __future__ import annotations

import email
import email.policy
import io
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from conftest import XUNBAO, write_config
from messages import to_mailbox
from PIL import Image

from pipeline import config as config_module
from pipeline.config import Limits
from pipeline.ledger import Ledger
from pipeline.mailbox import RawMessage
from pipeline.mailbox.directory import DirectorySource
from pipeline.reading.mails import ReadMail
from pipeline.reading.sandbox import QUARANTINED, Pool, Unread, crashed
from pipeline.runtime import own_scratch
from pipeline.service import job

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "tests" / "fixtures" / "forms"
SAMPLES = ROOT / "inbox_samples"
CRASHED = "读取时超出内存或时间限制，文件可能已损坏"


def looping_xls() -> bytes:
    """form.xls with its Workbook stream moved to a sector whose FAT entry is itself."""
    data = bytearray((FORMS / "form.xls").read_bytes())
    struct.pack_into("<I", data, 512 + 3 * 4, 3)  # FAT[3] = 3
    entry = 512 + 10 * 512 + 128  # directory sector 10, entry 1 (Workbook)
    struct.pack_into("<II", data, entry + 116, 3, 0x7FFFFF00)
    return bytes(data)


def max_dimension_xlsx() -> bytes:
    """A real one-sheet .xlsx whose <dimension> claims every cell Excel allows, with a
    cell in the very last one (calamine would make a dense grid of 2^34 cells)."""
    source = zipfile.ZipFile(FORMS / "next_cell.xlsx")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                head, _, rest = data.partition(b"<dimension ref=")
                _, _, rest = rest.partition(b"/>")
                data = head + b'<dimension ref="A1:XFD1048576"/>' + rest
                last = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
                data = data.replace(b"</sheetData>", last)
            target.writestr(info, data)
    return out.getvalue()


def mail_with(name: str, data: bytes, sender: str = "szqzgh@163.com", n: int = 0) -> bytes:
    date, message_id = f"Sat, 19 Sep 2015 1{n % 10}:00:00 +0800", f"<sandbox-{n}-{len(data)}@test>"
    message = to_mailbox(sender, f"市中区旬报 {name}", date, message_id, "请查收附件。")
    message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def test_a_reader_that_dies_is_replaced_and_its_message_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unguarded = Limits(cells=10**13, seconds=30)  # let the .xlsx reach calamine
    ordinary = (SAMPLES / "0918-0930-shizhongqu.eml").read_bytes()
    messages = [
        ("xls", mail_with("损坏.xls", looping_xls())),
        ("ok1", ordinary),
        ("xlsx", mail_with("超大.xlsx", max_dimension_xlsx(), n=1)),
        ("ok2", ordinary),
    ]
    attempted: list[str] = []
    with Pool(unguarded, tmp_path) as pool:
        results = dict(pool.read(messages, attempted.append))
        assert sorted(attempted) == ["ok1", "ok2", "xls", "xlsx"]  # as each is begun
        assert results["xls"] == Unread(f"附件《损坏.xls》{CRASHED}")
        assert results["xlsx"] == Unread(f"附件《超大.xlsx》{CRASHED}")
        for key in ("ok1", "ok2"):
            read = results[key]
            assert isinstance(read, ReadMail) and read.readings[0].value == 2650
            assert read.mail.attachments[0].data == b""  # bytes stay in the reader
    # The cause is logged for whoever maintains xunbao: the library's own last words.
    said = [r.getMessage() for r in caplog.records if r.name == "xunbao.sandbox"]
    assert any("超大.xlsx" in s and "memory allocation" in s for s in said), said


def test_the_wall_clock_limit_kills_a_slow_reader(tmp_path: Path) -> None:
    # A scan: the OCR model alone takes longer to load than the limit allows.
    image = (FORMS.parent / "scans").glob("*.png")
    png = next(image, None) or _png()
    with Pool(Limits(seconds=0.5), tmp_path) as pool:
        started = time.monotonic()
        ((_, read),) = pool.read([("scan", mail_with("扫描件.png", png))], lambda _: None)
        assert time.monotonic() - started < 90  # not the default 60 s per attachment, plus start-up
    # On a loaded machine the reader may be cut off before it names the attachment.
    assert read in (Unread(f"附件《扫描件.png》{CRASHED}"), crashed(None))


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (400, 200), "white").save(out, "PNG")
    return out.getvalue()


def test_guards_refuse_the_max_dimension_xlsx_before_reading(tmp_path: Path) -> None:
    with Pool(Limits(), tmp_path) as pool:
        ((_, read),) = pool.read([("x", mail_with("超大.xlsx", max_dimension_xlsx()))], print)
    assert isinstance(read, ReadMail)
    why = "工作表声明的范围过大（A1:XFD1048576），文件可能已损坏"
    assert read.unreadable == [f"附件《超大.xlsx》{why}"]


def test_ordinary_reports_count_and_the_two_bad_files_are_held(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for sample in SAMPLES.glob("*.eml"):
        (inbox / sample.name).write_bytes(sample.read_bytes())
    (inbox / "0919-0800-bad-xls.eml").write_bytes(mail_with("旬报.xls", looping_xls(), n=2))
    (inbox / "0919-0801-bad-xlsx.eml").write_bytes(mail_with("旬报.xlsx", max_dimension_xlsx()))
    clean = _ingest(tmp_path / "clean", SAMPLES)
    dirty = _ingest(tmp_path / "dirty", inbox)
    assert dirty.outcomes["counted"] == clean.outcomes["counted"] > 15
    assert dirty.outcomes["review"] == clean.outcomes["review"] + 2
    ledger = Ledger(tmp_path / "dirty" / "ledger.sqlite")
    held = {m.subject: m.reason for m in ledger.messages() if "旬报." in m.subject}
    ledger.close()
    assert held["市中区旬报 旬报.xls"] == f"附件《旬报.xls》{CRASHED}"
    assert "A1:XFD1048576" in held["市中区旬报 旬报.xlsx"]


def _ingest(folder: Path, inbox: Path) -> job.Ingested:
    path = write_config(folder, mailbox={"source": "directory", "path": str(inbox)})
    cfg = config_module.load(path).config
    with job.open_ledger(cfg) as ledger:
        return job.ingest(cfg, ledger, DirectorySource(inbox))


def _slow_inbox(tmp_path: Path) -> tuple[Path, Path, int]:
    """The samples and a WPS file, which makes the reader start LibreOffice (slow enough to
    kill xunbao in); the config of a run over them, its storage, and the count of samples."""
    inbox = tmp_path / "inbox"
    inbox.mkdir(parents=True)
    samples = sorted(SAMPLES.glob("*.eml"))
    for sample in samples:
        (inbox / sample.name).write_bytes(sample.read_bytes())
    wps = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 16
    (inbox / "0919-0800-poison.eml").write_bytes(mail_with("旬报.wps", wps, n=3))
    path = write_config(
        tmp_path / "run", mailbox={"source": "directory", "path": str(inbox), "batch_size": 50}
    )
    return path, tmp_path / "run", len(samples)


def _kill_while_reading(path: Path, storage: Path, file: str) -> None:
    """kill -9 of `xunbao run` once LibreOffice works on `file` and xunbao waits on it."""
    process = subprocess.Popen(
        [str(XUNBAO), "run", "--config", str(path), "--period", "2015-09-20", "--no-send"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    soffice = _wait_for_soffice(storage, process, file)
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(1.0)
    assert not any(_alive(pid) for pid in soffice), "LibreOffice outlived xunbao"


def _run(path: Path) -> None:
    done = subprocess.run(
        [str(XUNBAO), "run", "--config", str(path), "--period", "2015-09-20", "--no-send"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_run_killed_from_outside_charges_its_message_nothing(tmp_path: Path) -> None:
    """kill -9 of xunbao while a reader works on a message among others (a power cut, an
    OOM kill elsewhere): nothing is charged, the next run reads it alone and every message
    ends as in a run never killed."""
    path, storage, _ = _slow_inbox(tmp_path / "killed")
    _kill_while_reading(path, storage, "poison.eml")
    with Ledger(storage / "ledger.sqlite") as ledger:
        assert ledger.charge_interrupted() == ("dir:0919-0800-poison.eml", False)
        assert ledger.history("dir:0919-0800-poison.eml").attempts == 0
    _run(path)
    clean, clean_storage, _ = _slow_inbox(tmp_path / "clean")
    _run(clean)
    outcomes = []
    for folder in (storage, clean_storage):
        with Ledger(folder / "ledger.sqlite") as ledger:
            outcomes.append(sorted((m.subject, m.outcome, m.reason) for m in ledger.messages()))
    assert outcomes[0] == outcomes[1]
    assert not any(reason == QUARANTINED for _, _, reason in outcomes[0])


@pytest.mark.slow
def test_a_message_cut_off_twice_is_quarantined_and_the_rest_accounted_for(
    tmp_path: Path,
) -> None:
    """kill -9 of xunbao while it waits on a reader working on one message, twice: the
    first makes it a suspect, read alone by the second run; killed then, the third run
    holds it unread and every other message gets its outcome."""
    path, storage, samples = _slow_inbox(tmp_path)
    for _ in range(2):
        _kill_while_reading(path, storage, "poison.eml")
    _run(path)
    with Ledger(storage / "ledger.sqlite") as ledger:
        messages = ledger.messages()
        runs = ledger.runs()
    assert len(messages) == samples + 1
    poisoned = [m for m in messages if m.subject == "市中区旬报 旬报.wps"]
    assert [m.reason for m in poisoned] == [QUARANTINED]
    assert poisoned[0].sender == "szqzgh@163.com" and poisoned[0].arrival
    assert sum(m.outcome == "counted" for m in messages) > 15
    assert [r.outcome for r in runs] == ["interrupted", "interrupted", "ok"]
    assert not [p for p in (storage / "tmp").rglob("*") if not p.is_dir()]


def _wait_for_soffice(storage: Path, process: subprocess.Popen[bytes], file: str) -> list[int]:
    """LibreOffice's processes, once they run and xunbao waits on `file` (the oldest
    message in the readers' hands, begun): every earlier one has its outcome."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before LibreOffice started"
        found = [pid for pid, line in _processes() if "soffice" in line and str(storage) in line]
        if found and _waiting_on(storage / "ledger.sqlite").endswith(file):
            return found
        time.sleep(0.05)
    raise AssertionError("LibreOffice never started")


def _waiting_on(ledger: Path) -> str:
    try:
        with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=1) as db:
            row = db.execute(
                "SELECT source_ref, begun FROM attempts WHERE in_hand IS NOT NULL"
                " ORDER BY in_hand LIMIT 1"
            ).fetchone()
    except sqlite3.Error:
        return ""
    return str(row[0]) if row and row[1] else ""


def _processes() -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            found.append((int(entry.name), line))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
    return " Z " not in stat  # a zombie has died


def test_directory_source_does_not_read_an_oversized_message(tmp_path: Path) -> None:
    big = mail_with("大文件.zip", os.urandom(2 * 1024 * 1024))
    (tmp_path / "big.eml").write_bytes(big)
    (message,) = DirectorySource(tmp_path, max_bytes=1024 * 1024).poll()
    assert message == RawMessage("dir:big.eml", b"", None, too_large=True, head=big[: 64 * 1024])


if sys.platform != "linux":  # pragma: no cover - PR_SET_PDEATHSIG is Linux's
    raise ImportError("the sandbox needs Linux")


def test_a_scan_is_read_by_ocr_inside_the_sandbox(tmp_path: Path) -> None:
    """OCR needs a wider address space than the other readers: it gets it, and the reader
    that ran it retires after the message (the messages queued behind it are not lost)."""
    page = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(FORMS / "form.pdf"), str(page)],
        check=True,
    )
    scan = mail_with("扫描件.png", page.with_suffix(".png").read_bytes())
    ordinary = (SAMPLES / "0918-0930-shizhongqu.eml").read_bytes()
    messages = [("scan", scan), ("after", ordinary), ("last", ordinary)]
    with Pool(Limits(workers=1, seconds=600), tmp_path) as pool:  # OCR is slow on a busy CI
        results = dict(pool.read(messages, lambda _: None))
    values = {}
    for key, read in results.items():
        assert isinstance(read, ReadMail), read
        values[key] = read.readings[0].value
    assert values == {"scan": 20, "after": 2650, "last": 2650}


def test_a_rar_is_unpacked_by_unar_inside_the_sandbox(tmp_path: Path) -> None:
    # unar runs as a child of the reader process, under its memory and CPU limits.
    rar = (ROOT / "tests" / "fixtures" / "rar" / "rar5-solid.rar").read_bytes()
    with Pool(Limits(workers=1), tmp_path) as pool:
        ((_, read),) = pool.read([("x", mail_with("旬报.rar", rar))], print)
    assert isinstance(read, ReadMail)
    assert read.unreadable == [] and len(read.lists) == 2


def test_each_process_has_its_own_scratch_and_a_dead_ones_is_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / "tmp" / str(dead.pid) / "xunbao-lo-abc"  # what a kill -9 left behind
    left.mkdir(parents=True)
    running = tmp_path / "tmp" / "1"  # init: a process that is still there (a serve, say)
    running.mkdir()
    own = own_scratch(tmp_path)
    assert own == tmp_path / "tmp" / str(os.getpid()) and own.is_dir()
    assert not left.parent.exists()
    assert running.is_dir()
    (own / "page.png").write_bytes(b"")  # the desk's, say
    with Pool(Limits(), tmp_path) as pool:
        assert pool.tmp.parent == own
    assert [p.name for p in own.iterdir()] == ["page.png"]  # the pool's own folder is gone


def test_every_message_is_read_when_the_read_ahead_drains_at_once(tmp_path: Path) -> None:
    """A reader retires after OCR; while its replacement starts, the other reader finishes
    the whole read-ahead, and every message in hand is given out at once. The pool used to
    stop there: the rest of a backlog was never drawn, so a run read only part of its mail
    (seen on the independent zoo: 286 of 308 forms)."""
    page = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-r", "100", "-png", "-singlefile", str(FORMS / "form.pdf"), str(page)],
        check=True,
    )
    scan = mail_with("扫描件.png", page.with_suffix(".png").read_bytes())
    ordinary = (SAMPLES / "0918-0930-shizhongqu.eml").read_bytes()
    messages = [(n, scan if n in (0, 30) else ordinary) for n in range(100)]
    with Pool(Limits(workers=2, seconds=600), tmp_path) as pool:
        seen = []
        for key, _ in pool.read(messages, lambda _: None):
            seen.append(key)
            time.sleep(0.01)  # the caller judges each message meanwhile
    assert seen == list(range(100))


@pytest.mark.slow
def test_a_48_megapixel_phone_photo_is_read_within_the_default_limits(
    tmp_path: Path,
) -> None:
    """A phone's 48-megapixel photo is scaled down before recognition: it reads under the
    ordinary memory and time limits instead of being held for overrunning them."""
    page = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(FORMS / "form.pdf"), str(page)],
        check=True,
    )
    scan = Image.open(page.with_suffix(".png")).convert("RGB")
    photo = scan.resize((scan.width * 4, scan.height * 4), Image.Resampling.BICUBIC)
    assert photo.width * photo.height >= 30_000_000
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    messages = [("photo", mail_with("IMG_20150918_101522.jpg", buffer.getvalue()))]
    with Pool(Limits(workers=1), tmp_path) as pool:
        (result,) = pool.read(messages, lambda _: None)
    read = result[1]
    assert isinstance(read, ReadMail), read
    assert read.unreadable == []
    assert (read.readings[0].unit, read.readings[0].value) == ("乐山市交通工会", 20)


def _widened_readers(root: int, ordinary_mb: int) -> int:
    """How many reader processes under `root` now have an address-space limit above the
    ordinary one: those are in OCR (a reader widens its limit only for OCR's engine)."""
    from test_hostile import _tree

    count = 0
    for pid in _tree(root):
        try:
            limits = Path(f"/proc/{pid}/limits").read_text()
        except OSError:
            continue
        for line in limits.splitlines():
            if line.startswith("Max address space"):
                soft = line.split()[3]
                count += soft.isdigit() and int(soft) > ordinary_mb * 2**20
    return count


def test_one_reader_at_a_time_runs_ocr(tmp_path: Path) -> None:
    """Three photographed forms on two readers: OCR's engine is the largest thing a reader
    loads, so the readers take turns at it (the process tree's memory stays within one
    engine), and every photo is still read."""
    page = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-r", "110", "-png", "-singlefile", str(FORMS / "form.pdf"), str(page)],
        check=True,
    )
    buffer = io.BytesIO()
    Image.open(page.with_suffix(".png")).convert("RGB").save(buffer, "JPEG", quality=90)
    photos = [(n, mail_with(f"IMG_{n}.jpg", buffer.getvalue(), n=n)) for n in range(3)]
    # A mail with two photos asks for its turn twice: it has it already.
    twice = email.message_from_bytes(photos[0][1], policy=email.policy.default)
    twice.add_attachment(buffer.getvalue(), maintype="image", subtype="jpeg", filename="IMG_b.jpg")
    photos[0] = (0, twice.as_bytes())
    limits = Limits(workers=2)
    seen: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            seen.append(_widened_readers(os.getpid(), limits.memory_mb))
            time.sleep(0.005)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    results: list[tuple[int, object]] = []

    def read() -> None:
        with Pool(limits, tmp_path) as pool:
            results.extend(pool.read(photos, lambda _: None))

    reading = threading.Thread(target=read, daemon=True)
    reading.start()
    reading.join(timeout=240)
    stop.set()
    watcher.join()
    assert not reading.is_alive(), "the readers wait for an OCR turn that never comes"
    assert len(results) == 3
    for _, read in results:
        assert isinstance(read, ReadMail), read
        assert (read.readings[0].unit, read.readings[0].value) == ("乐山市交通工会", 20)
    assert max(seen) == 1, f"readers in OCR at once: {max(seen)}"
