"""`ui [--port N] [--open]`: the read-only web view (mlops_cli.ui), served on localhost until Ctrl-C."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable

from mlops_cli.context import Context, Result
from mlops_cli.errors import EXIT_USAGE, CliError

HOST = "127.0.0.1"  # local only: the page shows what the caller's credentials may read


def _translated(ctx: Context, fn: Callable[[], object]) -> None:
    from mlops_cli.main import _run

    _run(ctx, argparse.Namespace(run=lambda _ctx, _args: fn()))


def run_ui(ctx: Context, args: argparse.Namespace) -> Result:
    try:
        import uvicorn

        from mlops_cli.ui.app import build_app
    except ModuleNotFoundError as exc:
        raise CliError(
            f"`mlops ui` needs {exc.name}, which is not installed",
            EXIT_USAGE,
            hint="pip install -r requirements-ui.txt",
        ) from exc
    ctx.aws  # noqa: B018 - fail here, not on the first page, when --role-arn cannot be assumed
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(ctx, renew=lambda: Context(args)),
            host=HOST,
            port=args.port,
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, name="mlops-ui", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise CliError(
                f"the UI could not start on {HOST}:{args.port}", EXIT_USAGE, hint="try another --port"
            )
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://{HOST}:{port}/"
    print(url, file=ctx.stdout, flush=True)
    print("ready", file=ctx.stdout, flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join(5)
    return Result(None, "")
