"""Reading: every message is parsed and its forms read inside a sandboxed reader process.

- `sandbox` — the pool of reader processes xunbao hands messages to, with their limits;
- `reader_process` — the reader's side (`python -m pipeline.reading.reader_process`);
- `walls`, `confine` — what a reader may touch: no network, no secrets, one folder;
- `mails` — one message read whole (`read_mail`): its text, attachments and forms;
- `forms` — every format to one grid of cells, and the figures found in it.

Nothing here is imported eagerly: the readers' libraries load only in a reader process.
"""
