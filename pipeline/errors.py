"""The small exception hierarchy; `cli` maps each class to one exit code."""

from __future__ import annotations


class XunbaoError(Exception):
    """Base class: the message is Chinese text meant for the user."""

    exit_code = 1


class ConfigError(XunbaoError):
    """config.yaml cannot be used; `problems` holds one sentence per fault."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class UsageError(XunbaoError):
    """A command was called with arguments that make no sense.

    `code` names the fault for the two faces: the message is plain Chinese free of CLI
    syntax, and the CLI adds its flag hint for the code (cli/__init__.py, HINTS), the desk
    its buttons; `facts` holds what the hint may name (a message number, a period)."""

    exit_code = 2

    def __init__(self, text: str, code: str = "", /, **facts: object) -> None:
        self.code = code
        self.facts = facts
        super().__init__(text)


class NeedsConfirmation(UsageError):
    """A check a person may override once they have looked (CLI --force, desk 仍然计入):
    `compared` holds the figures the check compared, as (label, figure) pairs."""

    def __init__(
        self,
        message: str,
        code: str,
        compared: tuple[tuple[str, str], ...] = (),
        key: str = "",
    ) -> None:
        self.compared = compared
        # which check, for a face that confirms one check at a time (code:metric)
        self.key = key or code
        super().__init__(message, code)


class NotFound(UsageError):
    """What was asked for does not exist (the desk answers 404)."""


class SourceError(XunbaoError):
    """The mailbox (directory or IMAP server) cannot be read."""


class DeliveryError(XunbaoError):
    """The circular could not be sent to every recipient; `reason` says why in a few words
    (the message may go on to say what to do)."""

    def __init__(self, message: str, reason: str = "") -> None:
        self.reason = reason or message.rstrip("。")
        super().__init__(message)


class RenderError(XunbaoError):
    """The circular could not be rendered."""
