"""Intake: what a read message means for the ledger — counted, held for a person, or ignored,
each with a Chinese reason.

- `backlog` — every new message of a source through the readers to its outcome, committed
  before the source is told (`ingest`);
- `judge` — one message judged (`Intake.assess`): sender, unit, period, figures;
- `inputs` — checks on figures a clerk or a mail gives (plausible, a real cutoff);
- `roster` — the 实名登记 name list a report may carry (counts and hashes only).
"""
