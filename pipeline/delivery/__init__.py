"""Delivery: every mail xunbao sends, each to one recipient exactly once, recorded in the
ledger as soon as the server accepted it.

- `sending` — the circular and its corrections, SMTP, and `send`, the one way out;
- `receipts` — the 回执 telling a unit what became of its mail;
- `reminders` — the 催报 before a cutoff;
- `state` — what was sent to whom, as the desk and `status` show it.
"""
