"""The clerk's desk (审核台): a small Starlette application of server-rendered Chinese pages.

`app` builds the application and its security headers, `auth` guards every route (session,
role, CSRF), `inert` shows attachments without running them, `pages/` holds one module per
page. Routes only parse input, call the library (review, standings, circular…) and render.
"""
