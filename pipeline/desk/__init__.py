"""The clerk's desk (审核台): a small Starlette application of server-rendered Chinese pages.

`app` builds the application and its security headers, `auth` guards every route (session,
role, CSRF), `inert` shows attachments without running them, `pages/` holds one module per
page. Routes only parse input, call the library (review, standings, circular…) and render.
"""

from starlette.convertors import IntegerConvertor, register_url_convertor


class _LedgerId(IntegerConvertor):
    """Numbers in paths are SQLite INTEGERs: one of 19 digits or more names nothing (404),
    and never reaches the ledger (which would fail on it)."""

    regex = "[0-9]{1,18}"


# Before any page builds its routes: every `{name:int}` of the desk is bounded.
register_url_convertor("int", _LedgerId())
