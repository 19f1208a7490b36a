"""Mail that is no report at all: auto-replies, bounces and read receipts, spam and bulk
mail, our own circulars come back, and short notes that only thank or acknowledge. Each
is ignored with its reason in the register (never dropped); anything with a figure, even
in words, or a question goes to a person instead.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from pipeline.mailbox.parse import Mail

AUTO_SUBJECT = re.compile(
    r"^\s*(自动回复|自动答复|Auto(matic)?\s*(reply|回复)|Auto:|Out of Office|休假|外出)", re.I
)
RECEIPT_SUBJECT = re.compile(r"^\s*(已读|已读回执|Read:|Read receipt)", re.I)
# A short note with no form that only acknowledges ("收到，谢谢！", "好的") is not a report;
# nor is a reply to our own receipt or reminder. Held, it would earn a receipt: mail about mail.
THANKS = re.compile(
    r"收到|谢谢|感谢|多谢|好的|已阅|知悉|知道了|明白|thanks?\b|thank you|\bok\b", re.I
)
OUR_LETTER = re.compile(r"回执：|旬报催报|催报：")
SHORT_NOTE = 20


def not_a_report(mail: Mail, own_addresses: Collection[str]) -> str | None:
    """Why a mail is no report at all (an auto-reply, a bounce, a receipt, bulk mail, our
    own circular come back), or None."""
    headers = mail.headers
    auto = headers.get("auto-submitted", "no").strip().lower()
    if auto != "no" or "x-autoreply" in headers or "x-autorespond" in headers:
        return "自动回复邮件（Auto-Submitted）"
    if AUTO_SUBJECT.search(mail.subject):
        return "自动回复邮件（主题为自动回复）"
    if mail.content_type == "multipart/report" or RECEIPT_SUBJECT.search(mail.subject):
        kind = "退信" if "delivery" in headers.get("content-type", "") else "已读回执或退信"
        return f"{kind}，不是旬报"
    if mail.sender.partition("@")[0] in ("mailer-daemon", "postmaster"):
        return "退信（来自邮件系统），不是旬报"
    if headers.get("x-spam-flag", "").strip().lower() == "yes":
        return "邮件服务器标记为垃圾邮件"
    if "list-unsubscribe" in headers or headers.get("precedence", "").lower() in (
        "bulk",
        "list",
    ):
        return "群发或订阅邮件，不是旬报"
    if mail.sender in own_addresses:
        return "本会自己发出的邮件（如通报）被退回或抄送，不是旬报"
    return None


def acknowledgement(mail: Mail) -> str | None:
    """Why a mail with no form and no attachment is a thank-you or a reply to our letters."""
    words = mail.body.strip()
    if re.search(r"\d|[〇一二三四五六七八九十百千万]+[名人]|[？?]", words):
        return None  # a figure, even in words, or a question is for a person to read
    if len(words) <= SHORT_NOTE and THANKS.search(words or mail.subject):
        return "致谢或确认的回复（如“收到，谢谢”），没有旬报表，不是旬报"
    if OUR_LETTER.search(mail.subject) and len(words) <= SHORT_NOTE * 10:
        return "对本会回执或催报的回复，没有旬报表，不是旬报"
    return None
