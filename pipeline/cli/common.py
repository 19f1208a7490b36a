"""What every command shares: the --config option, loading config, parsing a period.

Terminal output is in `output`: this module imports no rich, so `status` (plain lines) never
loads it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from pipeline import config as config_module
from pipeline.standings.periods import Period

F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    """--config on a command or a group. It may be written before or after a subcommand
    (`review --config X approve 3`, `review approve 3 --config X`, `xunbao --config X status`):
    the one written wins wherever it stands; two different ones are refused."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        default=config_module.DEFAULT_CONFIG,
        show_default=True,
        help="配置文件路径",
        callback=_chosen_config,
    )(func)


_CHOSEN = "xunbao.config"  # ctx.meta key (meta is shared by a context and its children)


def _chosen_config(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    given = ctx.get_parameter_source(param.name or "") not in (
        ParameterSource.DEFAULT,
        ParameterSource.DEFAULT_MAP,
        None,
    )
    earlier: Path | None = ctx.meta.get(_CHOSEN)
    if not given:
        return earlier or value
    if earlier is not None and earlier != value:
        raise click.UsageError(f"--config 写了两次且不同（{earlier} 与 {value}），请只写一个")
    ctx.meta[_CHOSEN] = value
    return value


def load_config(path: Path) -> config_module.Config:
    """Load and validate the config (no cache: nothing kept between commands can run code)
    and set up logging under the one "xunbao" namespace, so every command (not only `serve`)
    writes warnings to stderr through the password redactor."""
    import logging

    from pipeline.service import logs

    config = config_module.load(path).config
    logs.setup(config=config, level=logging.WARNING)
    return config


def by_option(func: F) -> F:
    return click.option("--by", help="操作人姓名（默认：当前系统用户）")(func)


def reasoned(argument: str, reason: str) -> Callable[[F], F]:
    """A clerk's action on one numbered item that must say why: NUMBER --reason --by --config."""

    def decorate(func: F) -> F:
        func = by_option(config_option(func))
        func = click.option("--reason", required=True, help=reason)(func)
        return click.argument(argument, type=int, metavar="编号")(func)

    return decorate


def parse_period(
    config: config_module.Config, text: str | None, adhoc: bool = False
) -> Period | None:
    """A real cutoff of the campaign (see inputs.period; with `adhoc` any day of it, for an
    ad-hoc circular), or None when not given."""
    if text is None:
        return None
    from pipeline.intake.inputs import period

    return period(config, text, adhoc)
