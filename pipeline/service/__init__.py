"""Running xunbao: one cycle (`job`: poll, ingest, settle, publish, send), what follows a
send (`followup`), the scheduler that runs it at each cutoff (`schedule`, `triggers`), the
status a person or a monitor reads (`status`) and the log's set-up (`logs`)."""
