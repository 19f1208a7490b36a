"""Desk accounts: clerks and leaders, their passwords (argon2), sessions and login throttling.

Only a hash of a session token is stored, so a copy of the ledger opens no session. Failed
logins are counted per account and address; past `desk.login_attempts` within
`desk.lockout_minutes` that pair is refused without even checking the password, and so is
an account (from any address) or an address (at any account) past `desk.account_attempts`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.config import Desk
from pipeline.errors import UsageError
from pipeline.ledger import Ledger

Role = Literal["clerk", "leader"]
ROLE_NAMES: dict[str, str] = {"clerk": "经办人", "leader": "签发领导"}
MIN_PASSWORD = 10
_NAME = re.compile(r"[\w.\-\u4e00-\u9fff]{1,40}")
_hasher = PasswordHasher()
# Verified against when the account does not exist, so timing does not reveal names.
_DUMMY = _hasher.hash("not a password of anyone")


@dataclass(frozen=True)
class Account:
    name: str
    role: Role

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]


@dataclass(frozen=True)
class Session:
    token: str  # given to the browser once; only its hash is stored
    account: Account
    csrf: str
    expires_at: datetime


class LoginRefused(UsageError):
    """Wrong name or password, or too many failures: the message says which, in Chinese."""


def add(ledger: Ledger, name: str, role: str, password: str) -> Account:
    if not _NAME.fullmatch(name):
        raise UsageError("账号名只能由 1–40 个汉字、字母、数字、点、下划线或连字符组成。")
    if role not in ROLE_NAMES:
        raise UsageError(f"角色只能是 clerk（经办人）或 leader（签发领导），收到 {role!r}。")
    _check_password(password)
    if find(ledger, name) is not None:
        raise UsageError(f"账号 {name} 已存在。")
    ledger.db.execute(
        "INSERT INTO accounts (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
        (name, role, _hasher.hash(password), _now().isoformat()),
    )
    return Account(name, role)  # type: ignore[arg-type]


def set_password(ledger: Ledger, name: str, password: str) -> Account:
    """A new password; every open session of the account ends."""
    account = find(ledger, name)
    if account is None:
        raise UsageError(f"没有账号 {name}。请先用 xunbao user add 添加。")
    _check_password(password)
    with ledger.transaction() as db:
        db.execute(
            "UPDATE accounts SET password_hash = ? WHERE name = ?", (_hasher.hash(password), name)
        )
        db.execute("DELETE FROM sessions WHERE account = ?", (name,))
    return account


def find(ledger: Ledger, name: str) -> Account | None:
    row = ledger.db.execute("SELECT name, role FROM accounts WHERE name = ?", (name,)).fetchone()
    return Account(row["name"], row["role"]) if row else None


def all_accounts(ledger: Ledger) -> list[Account]:
    rows = ledger.db.execute("SELECT name, role FROM accounts ORDER BY name")
    return [Account(r["name"], r["role"]) for r in rows]


def login(ledger: Ledger, settings: Desk, name: str, password: str, address: str) -> Session:
    """A new session for `name`, or LoginRefused."""
    now = _now()
    since = (now - timedelta(minutes=settings.lockout_minutes)).isoformat()
    counted = ledger.db.execute(
        "SELECT count(*), sum(account = ? AND address = ?), sum(account = ?), sum(address = ?)"
        " FROM login_failures WHERE at > ?",
        (name, address, name, address, since),
    ).fetchone()
    pair, account, where = (int(n or 0) for n in counted[1:])
    # the pair, or the account from anywhere, or the address at any account
    if pair >= settings.login_attempts or max(account, where) >= settings.account_attempts:
        raise LoginRefused(
            f"密码错误次数过多，请 {settings.lockout_minutes:g} 分钟后再试，或请管理员核实。"
        )
    row = ledger.db.execute(
        "SELECT name, role, password_hash FROM accounts WHERE name = ?", (name,)
    ).fetchone()
    if not _verify(row["password_hash"] if row else _DUMMY, password) or row is None:
        ledger.db.execute(
            "INSERT INTO login_failures (account, address, at) VALUES (?, ?, ?)",
            (name, address, now.isoformat()),
        )
        raise LoginRefused("账号或密码不正确。")
    ledger.db.execute(
        "DELETE FROM login_failures WHERE account = ? AND address = ?", (name, address)
    )
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + timedelta(hours=settings.session_hours)
    ledger.db.execute(
        "INSERT INTO sessions (token_hash, account, csrf, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (_digest(token), name, csrf, now.isoformat(), expires.isoformat()),
    )
    return Session(token, Account(row["name"], row["role"]), csrf, expires)


def session(ledger: Ledger, token: str) -> Session | None:
    """The live session a browser's token opens, or None."""
    if not token:
        return None
    row = ledger.db.execute(
        "SELECT s.csrf, s.expires_at, a.name, a.role FROM sessions s"
        " JOIN accounts a ON a.name = s.account WHERE s.token_hash = ? AND s.expires_at > ?",
        (_digest(token), _now().isoformat()),
    ).fetchone()
    if row is None:
        return None
    expires = datetime.fromisoformat(row["expires_at"])
    return Session(token, Account(row["name"], row["role"]), row["csrf"], expires)


def logout(ledger: Ledger, token: str) -> None:
    ledger.db.execute(
        "DELETE FROM sessions WHERE token_hash = ? OR expires_at <= ?",
        (_digest(token), _now().isoformat()),
    )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"密码至少 {MIN_PASSWORD} 位。")


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)
