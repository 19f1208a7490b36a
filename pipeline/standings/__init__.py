"""Standings: the ledger's figures against the targets, per unit and group, for one period.

- `periods` — dekads and their cutoffs; `timetable` — when each run is due;
- `rules` — the campaign's rules (time progress, 末位, 约谈 streaks);
- `table` — the standings computed with pandas (`compute`), once per cycle;
- `held` — units whose report waits for a person (shown 待核实);
- `spans` — monthly and ad-hoc circulars' reach; `summary`, `annual` — the year.
"""
