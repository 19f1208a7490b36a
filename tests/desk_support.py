"""Shared by the desk tests: a workspace holding the sample ledger (made once by a real
`xunbao run`, then copied per test), accounts, and a signed-in test client."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from messages import to_mailbox
from starlette.testclient import TestClient

from pipeline import config as config_module
from pipeline.clerk import accounts
from pipeline.desk.app import create_app
from pipeline.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
XUNBAO = Path(sys.executable).parent / "xunbao"
PERIOD = "2015-09-20"
PASSWORDS = {"王科长": "leader-password-1", "小李": "clerk-password-1"}
MABIAN = 21  # held: sent from a private address, the form says 马边县 1000


def build_sample(folder: Path) -> Path:
    """A workspace with config.yaml and the ledger of the sample inbox after one run."""
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("path: inbox_samples", f"path: {ROOT / 'inbox_samples'}")
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    subprocess.run(
        [
            str(XUNBAO),
            "run",
            "--period",
            PERIOD,
            "--no-send",
            "--config",
            str(folder / "config.yaml"),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    with Ledger(folder / "data/xunbao.sqlite") as ledger:
        accounts.add(ledger, "王科长", "leader", PASSWORDS["王科长"])
        accounts.add(ledger, "小李", "clerk", PASSWORDS["小李"])
    return folder


def copy_sample(sample: Path, target: Path) -> Path:
    shutil.copytree(sample, target, ignore=shutil.ignore_patterns("out"))
    return target / "config.yaml"


def require_sign_off(config_path: Path, signer: str) -> None:
    """Switch the workspace to sign_off: required with `signer` as the one signing leader."""
    from ruamel.yaml import YAML

    yaml = YAML()
    tree = yaml.load(config_path.read_text(encoding="utf-8"))
    tree["delivery"]["sign_off"] = "required"
    tree["delivery"]["signers"] = [signer]
    with config_path.open("w", encoding="utf-8") as out:
        yaml.dump(tree, out)


@dataclass
class Desk:
    """A test client on a workspace, and the workspace's ledger for checking outcomes."""

    client: TestClient
    config_path: Path

    def ledger(self) -> Ledger:
        return Ledger(self.config_path.parent / "data/xunbao.sqlite")

    def csrf(self, path: str = "/overview") -> str:
        return csrf_of(self.client.get(path).text)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def standing(page: str, unit: str) -> list[str]:
    """The cells of `unit`'s row in the 通报 page's table (#standings), as text."""
    table = page.split('id="standings"', 1)[1].split("</table>", 1)[0]
    for row in table.split("<tr")[1:]:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        if len(cells) > 1 and cells[1] == unit:
            return cells
    raise AssertionError(f"{unit} is not in the standings")


def client(config_path: Path) -> TestClient:
    config = config_module.load(config_path).config
    # the desk answers only its own host names (desk/app.py, Gate): not TestClient's "testserver"
    app = create_app(config, config_path)
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)


def login(test_client: TestClient, name: str, password: str | None = None) -> int:
    token = csrf_of(test_client.get("/login").text)
    response = test_client.post(
        "/login",
        data={"csrf": token, "name": name, "password": password or PASSWORDS[name]},
    )
    return response.status_code


# ── hostile attachments ─────────────────────────────────────────
BEACON = "/beacon"  # any request for this path means something in an attachment ran
HOSTILE_HTML = (
    "<html><body><h1>旬报</h1><script>fetch('/beacon?html');document.title='PWNED'</script>"
    "<img src=x onerror=\"fetch('/beacon?img')\"></body></html>"
)
HOSTILE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" onload="fetch(\'/beacon?svg\')">'
    "<script>document.title='PWNED'</script><text y='20'>报表</text></svg>"
)


def hostile_pdf() -> bytes:
    """One blank page that asks, on opening, to run JavaScript which calls home."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] >>",
        b"<< /S /JavaScript /JS (app.launchURL\\('http://127.0.0.1:9/beacon?pdf'\\);) >>",
    ]
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


def hostile_mail() -> bytes:
    """A report e-mail from an unregistered sender with three hostile attachments and a
    subject that would be a formula in a spreadsheet."""
    message = to_mailbox(
        "attacker@example.com",
        '=HYPERLINK("http://127.0.0.1:9/x","旬报")',
        "Sat, 19 Sep 2015 10:00:00 +0800",
        "<hostile-1@example.com>",
        "<script>alert(1)</script> 请查收附件。",
    )
    message.add_attachment(HOSTILE_HTML.encode(), "text", "html", filename="报表.html")
    message.add_attachment(HOSTILE_SVG.encode(), "image", "svg+xml", filename="报表.svg")
    message.add_attachment(hostile_pdf(), "application", "pdf", filename="报表.pdf")
    return bytes(message)


def ingest_hostile(config_path: Path) -> int:
    """Put the hostile mail through the real intake; returns its message number."""
    return ingest_mail(config_path, hostile_mail(), "<hostile-1@example.com>")


def ingest_mail(config_path: Path, raw: bytes, message_id: str) -> int:
    """Put one mail through the real intake (a directory source of its own); its number."""
    from pipeline.mailbox.directory import DirectorySource
    from pipeline.service import job

    name = hashlib.sha256(raw).hexdigest()[:8]
    inbox = config_path.parent / f"inbox-{name}"
    inbox.mkdir()
    # a name of its own: the source knows a message by its file name
    (inbox / f"mail-{name}.eml").write_bytes(raw)
    config = config_module.load(config_path).config
    with job.open_ledger(config) as ledger:
        job.ingest(config, ledger, DirectorySource(inbox))
        row = ledger.db.execute(
            "SELECT id FROM messages WHERE message_id = ?", (message_id,)
        ).fetchone()
    return int(row["id"])
