"""The clerk's actions, one library function each, shared by the CLI and the desk:
approve or reject a held report, record a phoned-in figure (`review`), read held mail
again (`recheck`), send a report back to its unit (`sendback`), record a 约谈 (`talks`),
and the desk's accounts (`accounts`)."""
