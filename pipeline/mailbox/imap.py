"""An IMAP mailbox, read incrementally and crash-safely with imapclient.

The ledger keeps, per folder, the UIDVALIDITY and the highest UID acknowledged. A poll
fetches only UIDs above that mark, in batches, with BODY.PEEK[] (\\Seen is never set unless
`mark_seen`); a message over `max_message_mb` is announced by its size and never downloaded.
`acknowledge` runs after the ledger commit: it moves the message to `processed_folder` (when
set) and only then raises the mark, so a kill at any instant re-reads at most the message in
hand, which the ledger recognises by its ref `imap:<folder>:<uidvalidity>:<uid>`.

A dropped connection, a timeout or a restarted server is retried with growing delays; after
`retries` attempts the poll stops with a SourceError, and the next run resumes at the mark.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

import tenacity
from imapclient import DELETED, SEEN, IMAPClient, SocketTimeout
from imapclient.exceptions import CapabilityError, LoginError

from pipeline import __version__
from pipeline.config import Config, secret
from pipeline.errors import SourceError
from pipeline.ledger import Ledger
from pipeline.mailbox import HEAD_BYTES, RawMessage

log = logging.getLogger("xunbao.imap")
T = TypeVar("T")

# Worth a reconnection: the network or the server went away. Certificate failures are also
# OSErrors (ssl.SSLCertVerificationError) but are never transient: they are caught first.
_TRANSIENT = (OSError, imaplib.IMAP4.abort)

_STATUS = [b"UIDVALIDITY", b"UIDNEXT"]
_AUTH_CODE_HELP = (
    "注意：126、163、QQ 等邮箱的 IMAP 密码是“授权码”——在网页版邮箱“设置 → POP3/SMTP/IMAP”"
    "中开启 IMAP 服务时生成的一串字母，不是网页登录密码。"
)


class ImapSource:
    def __init__(
        self, config: Config, ledger: Ledger, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = config.mailbox
        self.ledger = ledger
        self.folder = self.settings.folder
        file = self.settings.password_file
        self._password = secret(
            self.settings.password_env, config.resolve(file) if file else None, "IMAP 邮箱授权码"
        )
        self._config = config  # for the TLS context, made at each login
        self._sleep = sleep
        self._client: IMAPClient | None = None
        self._send_id = True
        self.uidvalidity = 0
        self._pending: list[int] = []  # UIDs above the mark, not yet fetched
        self._cursor = 0  # the highest UID fetched during this poll
        self.connections = 0  # successful logins, for tests and the bench
        self.fetched = 0  # message bodies downloaded

    # ── the Source protocol ────────────────────────────────────
    def poll(self) -> Iterator[RawMessage]:
        while True:
            batch = self._retrying(self._next_batch)
            if batch is None:
                return
            yield from batch  # may be empty: every UID of the batch was expunged meanwhile

    def acknowledge(self, message: RawMessage) -> None:
        _, uidvalidity, uid = split_ref(message.ref)
        wanted = self.settings.processed_folder or self.settings.mark_seen
        if wanted and not message.too_large:  # a message too large to read stays put
            self._retrying(lambda client: self._file_away(client, uidvalidity, uid))
        self.ledger.advance_poll_state(self.folder, uidvalidity, uid)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*_TRANSIENT, imaplib.IMAP4.error):
                client.logout()

    # ── one batch of messages ──────────────────────────────────
    def _next_batch(self, client: IMAPClient) -> list[RawMessage] | None:
        """The next batch of messages above the mark; None when there are no more."""
        uids = self._pending[: self.settings.batch_size]
        if not uids:
            return None
        limit = int(self.settings.max_message_mb * 1024 * 1024)
        meta = client.fetch(uids, ["RFC822.SIZE", "INTERNALDATE"])
        small = [u for u in uids if u in meta and int(meta[u][b"RFC822.SIZE"]) <= limit]
        bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
        self.fetched += len(bodies)
        large = [u for u in uids if u in meta and u not in small]
        # Of a message too large to download, its first HEAD_BYTES: the header block, so the
        # register can name its sender, subject and time (a partial fetch, never the body).
        heads = client.fetch(large, [f"BODY.PEEK[HEADER]<0.{HEAD_BYTES}>"]) if large else {}
        batch = []
        for uid in uids:
            if uid not in meta:
                continue  # expunged by another client since the search
            ref = f"imap:{self.folder}:{self.uidvalidity}:{uid}"
            arrived = _aware(meta[uid].get(b"INTERNALDATE"))
            if uid not in small:
                head = bytes(heads.get(uid, {}).get(b"BODY[HEADER]<0>") or b"")
                batch.append(RawMessage(ref, b"", arrived, too_large=True, head=head))
            elif uid in bodies and bodies[uid].get(b"BODY[]") is not None:
                batch.append(RawMessage(ref, bytes(bodies[uid][b"BODY[]"]), arrived))
        del self._pending[: len(uids)]
        self._cursor = max(self._cursor, uids[-1])
        return batch

    def _file_away(self, client: IMAPClient, uidvalidity: int, uid: int) -> None:
        if uidvalidity != self.uidvalidity:
            return  # the folder was rebuilt since: this UID now names nothing we know
        try:
            if self.settings.mark_seen:
                client.add_flags([uid], [SEEN], silent=True)
            if self.settings.processed_folder:
                self._move(client, uid, self.settings.processed_folder)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:  # e.g. already moved by a run that was killed
            log.warning("邮件 UID %s 未能移入“%s”：%s", uid, self.settings.processed_folder, exc)

    @staticmethod
    def _move(client: IMAPClient, uid: int, folder: str) -> None:
        if client.has_capability("MOVE"):
            client.move([uid], folder)
            return
        client.copy([uid], folder)
        client.add_flags([uid], [DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])  # only this UID: other \Deleted mail is not ours to purge

    # ── connection ─────────────────────────────────────────────
    def _retrying(self, operation: Callable[[IMAPClient], T]) -> T:
        """`operation` on a live connection; a dropped or refused connection is made again
        after `retry_delay`, doubling each time, `retries` times. A certificate that does
        not verify is never retried: waiting does not make it trustworthy."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_TRANSIENT)
            & tenacity.retry_if_not_exception_type(ssl.SSLCertVerificationError),
            stop=tenacity.stop_after_attempt(self.settings.retries + 1),
            wait=tenacity.wait_exponential(multiplier=self.settings.retry_delay, min=0),
            sleep=self._sleep,
            before_sleep=self._reconnecting,
            reraise=True,
        )
        try:
            return retrying(lambda: operation(self._connected()))
        except ssl.SSLCertVerificationError as exc:
            self._drop()
            raise SourceError(self._certificate_problem(exc)) from None
        except _TRANSIENT as exc:
            self._drop()
            raise SourceError(self._gave_up(exc, self.settings.retries)) from None

    def _reconnecting(self, state: tenacity.RetryCallState) -> None:
        self._drop()
        failed = state.outcome.exception() if state.outcome else None
        log.warning(
            "与邮件服务器 %s 的连接失败或中断（%s），%g 秒后第 %d 次重试。",
            self._where(),
            describe(failed, self.settings.timeout) if failed else "",
            state.upcoming_sleep,
            state.attempt_number,
        )

    def _connected(self) -> IMAPClient:
        if self._client is None:
            client = self._login()
            try:
                self._open_folder(client)
            except BaseException:
                _shutdown(client)
                raise
            self._client = client
        return self._client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _shutdown(client)

    def _login(self) -> IMAPClient:
        s = self.settings
        refused = s.plaintext_refused("mailbox", 993, 143)
        if refused:
            raise SourceError(refused)
        context = s.tls_context(self._config)
        timeout = SocketTimeout(connect=s.timeout, read=s.timeout)
        client = IMAPClient(s.host, port=s.port, ssl=s.ssl, ssl_context=context, timeout=timeout)
        try:
            if not s.ssl and s.starttls:
                client.starttls(context)
            client.normalise_times = False  # INTERNALDATE as an aware datetime
            client.login(s.username, self._password)
        except LoginError as exc:
            _shutdown(client)
            raise SourceError(self._login_refused(exc)) from None
        except BaseException:
            _shutdown(client)
            raise
        self.connections += 1
        if self._send_id:
            try:
                self._identify(client)
            except imaplib.IMAP4.abort:  # QQ drops a connection on commands it dislikes
                log.warning("邮件服务器在收到 ID 命令后断开了连接，改为不发送 ID 重新连接。")
                _shutdown(client)
                self._send_id = False
                return self._login()
        return client

    def _identify(self, client: IMAPClient) -> None:
        """RFC 2971 ID, which NetEase (126/163) requires before SELECT."""
        if not client.has_capability("ID"):
            return
        try:
            client.id_({"name": "xunbao", "version": __version__, "vendor": "xunbao"})
        except (imaplib.IMAP4.abort, OSError):
            raise
        except (imaplib.IMAP4.error, CapabilityError) as exc:
            log.warning("邮件服务器不接受 ID 命令（%s），继续收信。", exc)

    def _open_folder(self, client: IMAPClient) -> None:
        """STATUS first: when nothing is new, no SELECT (which costs the server time in
        proportion to the folder's size), no SEARCH and no FETCH."""
        status = self._command(client, lambda: client.folder_status(self.folder, _STATUS))
        self.uidvalidity = int(status[b"UIDVALIDITY"])
        start = max(self._mark(), self._cursor)
        if int(status[b"UIDNEXT"]) <= start + 1:
            self._pending = []
            return
        s = self.settings
        readonly = not (s.processed_folder or s.mark_seen)
        info = self._command(client, lambda: client.select_folder(self.folder, readonly))
        if int(info[b"UIDVALIDITY"]) != self.uidvalidity:  # rebuilt in between
            self.uidvalidity = int(info[b"UIDVALIDITY"])
            start = max(self._mark(), self._cursor)
        # `UID n:*` always includes the highest UID, even below n: filter here.
        found = client.search(["UID", f"{start + 1}:*"])
        self._pending = sorted(uid for uid in found if uid > start)
        if s.processed_folder and not client.folder_exists(s.processed_folder):
            client.create_folder(s.processed_folder)
            log.warning("已在邮箱中新建文件夹“%s”，处理过的邮件将移入其中。", s.processed_folder)

    def _command(self, client: IMAPClient, command: Callable[[], T]) -> T:
        """STATUS or SELECT of the folder; a refusal (no such folder, Unsafe Login) is final."""
        try:
            return command()
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            raise SourceError(self._select_refused(exc)) from None

    def _mark(self) -> int:
        """The stored high-water mark; a changed UIDVALIDITY starts the folder afresh."""
        state = self.ledger.poll_state(self.folder)
        if state is not None and state[0] == self.uidvalidity:
            return state[1]
        if state is not None:
            log.warning(
                "文件夹“%s”的 UIDVALIDITY 已由 %s 变为 %s（服务器重建了该文件夹），将重新扫描；"
                "台账中已有的邮件不会重复登记或计数。",
                self.folder,
                state[0],
                self.uidvalidity,
            )
        self.ledger.reset_poll_state(self.folder, self.uidvalidity)
        self._cursor = 0
        return 0

    # ── messages for people ────────────────────────────────────
    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _gave_up(self, exc: BaseException, retries: int) -> str:
        return (
            f"无法连接邮件服务器 {self._where()}：{describe(exc, self.settings.timeout)}"
            f"（已重试 {retries} 次）。已处理的邮件都已保存在台账中，下次运行会从中断处继续。"
            "请检查网络连接以及 config.yaml 中的 mailbox.host、mailbox.port。"
        )

    def _certificate_problem(self, exc: ssl.SSLCertVerificationError) -> str:
        why = exc.verify_message or exc.reason or str(exc)
        return (
            f"邮件服务器 {self._where()} 的证书验证失败（{why}），已停止连接。"
            "若服务器使用单位自建的证书，请在 config.yaml 的 mailbox.ca_file 中填写签发它的 CA "
            "证书文件；证书验证不能关闭。"
        )

    def _login_refused(self, exc: LoginError) -> str:
        said = str(exc).replace(self._password, "***") if self._password else str(exc)
        return (
            f"邮箱 {self.settings.username} 登录失败，服务器拒绝了用户名或授权码（{said}）。"
            f"{_AUTH_CODE_HELP}请确认已开启 IMAP 服务，并把授权码放入环境变量 "
            f"{self.settings.password_env}（或 mailbox.password_file 指定的文件）。"
        )

    def _select_refused(self, exc: imaplib.IMAP4.error) -> str:
        said = str(exc)
        if "unsafe login" in said.lower():
            return (
                f"服务器拒绝打开文件夹“{self.folder}”（{said}）。网易邮箱要求客户端登录后先发送 "
                "ID 命令；本程序已发送，请在网页版邮箱中确认已开启 IMAP 服务，或联系邮箱客服。"
            )
        return (
            f"无法打开邮箱文件夹“{self.folder}”（{said}）。请检查 config.yaml 中的 mailbox.folder。"
        )


def split_ref(ref: str) -> tuple[str, int, int]:
    """imap:<folder>:<uidvalidity>:<uid> → (folder, uidvalidity, uid); folders may hold ':'."""
    head, uidvalidity, uid = ref.rsplit(":", 2)
    return head.removeprefix("imap:"), int(uidvalidity), int(uid)


def describe(exc: BaseException, timeout: float) -> str:
    """A network failure in words a clerk understands."""
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝，服务器未运行或端口不对"
    if isinstance(exc, TimeoutError):
        return f"超过 {timeout:g} 秒没有响应"
    if isinstance(exc, imaplib.IMAP4.abort | ConnectionError):
        return "服务器断开了连接"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.astimezone()


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        client.shutdown()
