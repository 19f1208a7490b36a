"""`xunbao desk`: serve the clerk's desk (审核台) to a browser.

The listening socket is opened before anything is announced: a port another program holds
is a Chinese error and exit code 3 (README), never "已启动" followed by uvicorn's English.
"""

from __future__ import annotations

import errno
import socket
import tempfile
from pathlib import Path

import click

from pipeline.cli.common import config_option, load_config
from pipeline.cli.output import console
from pipeline.errors import XunbaoError


class PortBusy(XunbaoError):
    """The desk's address cannot be listened on (in use, or not this machine's)."""

    exit_code = 3


@click.command()
@config_option
@click.option("--host", help="监听地址（默认取 config.yaml 的 desk.host，即 127.0.0.1）")
@click.option("--port", type=int, help="端口（默认取 config.yaml 的 desk.port）")
def desk(config_path: Path, host: str | None, port: int | None) -> None:
    """启动审核台（网页），在浏览器中审核、录入、签发。"""
    import uvicorn  # imported late: other commands need no web server

    from pipeline.desk.app import create_app
    from pipeline.runtime import own_scratch

    config = load_config(config_path)
    # Page images and downloads are made in temporary files: under xunbao's storage.
    tempfile.tempdir = str(own_scratch(config.resolve(config.storage.path).parent))
    chosen_host, chosen_port = host or config.desk.host, port or config.desk.port
    # the address it listens on is one the desk answers to (desk/app.py, Gate)
    config = config.model_copy(
        update={"desk": config.desk.model_copy(update={"host": chosen_host})}
    )
    listening = _listen(chosen_host, chosen_port)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, config_path),
            log_level="warning",
            proxy_headers=False,  # desk.trusted_proxies decide (desk/app.py, Gate)
            server_header=False,
        )
    )
    console.print(
        f"审核台已启动：在浏览器中打开 http://{chosen_host}:{chosen_port}/ （按 Ctrl+C 停止）",
        highlight=False,
    )
    server.run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.socket(family, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
        listening.listen(128)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortBusy(
                f"端口 {port} 已被其他程序占用，审核台未启动。请关闭占用该端口的程序"
                "（可能是已经在运行的审核台），或用 --port 换一个端口。"
            ) from None
        raise PortBusy(
            f"无法在 {host}:{port} 上监听（{exc.strerror or exc}），审核台未启动。"
            "请检查监听地址是否属于本机，或用 --host、--port 另选。"
        ) from None
    return listening
