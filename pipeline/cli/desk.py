"""`xunbao desk`: serve the clerk's desk (审核台) to a browser."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from .common import config_option, load_config
from .output import console


@click.command()
@config_option
@click.option("--host", help="监听地址（默认取 config.yaml 的 desk.host，即 127.0.0.1）")
@click.option("--port", type=int, help="端口（默认取 config.yaml 的 desk.port）")
def desk(config_path: Path, host: str | None, port: int | None) -> None:
    """启动审核台（网页），在浏览器中审核、录入、签发。"""
    import uvicorn  # imported late: other commands need no web server

    from ..desk.app import create_app
    from ..runtime import own_scratch

    config = load_config(config_path)
    # Page images and downloads are made in temporary files: under xunbao's storage.
    tempfile.tempdir = str(own_scratch(config.resolve(config.storage.path).parent))
    chosen_host, chosen_port = host or config.desk.host, port or config.desk.port
    # the address it listens on is one the desk answers to (desk/app.py, Gate)
    config = config.model_copy(
        update={"desk": config.desk.model_copy(update={"host": chosen_host})}
    )
    console.print(
        f"审核台已启动：在浏览器中打开 http://{chosen_host}:{chosen_port}/ （按 Ctrl+C 停止）",
        highlight=False,
    )
    uvicorn.run(
        create_app(config, config_path),
        host=chosen_host,
        port=chosen_port,
        log_level="warning",
        proxy_headers=False,  # desk.trusted_proxies decide (desk/app.py, Gate)
        server_header=False,
    )
