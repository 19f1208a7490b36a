"""A mail to the city union's report mailbox, as a unit sends it, for tests to build on."""

from __future__ import annotations

from email.message import EmailMessage

MAILBOX = "lsszghzxb@126.com"


def to_mailbox(sender: str, subject: str, date: str, message_id: str, body: str) -> EmailMessage:
    """A plain-text mail from `sender`; callers add attachments (add_attachment) as needed."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = MAILBOX
    message["Subject"] = subject
    message["Date"] = date
    message["Message-ID"] = message_id
    message.set_content(body)
    return message
