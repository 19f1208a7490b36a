"""配置: the check-config result of the file on disk, and the loaded units, senders, targets."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from ... import config as config_module
from ...errors import ConfigError
from ..auth import Context, route


def settings_page(context: Context) -> Response:
    path = context.desk.config_path
    try:
        loaded = config_module.load(path)
        problems, warnings = [], loaded.warnings
    except ConfigError as exc:
        problems, warnings = list(exc.problems), []
    return context.render(
        "settings.html",
        nav="settings",
        path=path,
        problems=problems,
        warnings=warnings,
        config=context.config,
    )


ROUTES = [Route("/settings", route(settings_page))]
