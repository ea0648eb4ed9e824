"""`local ...`: the local AWS emulator, implemented in `local.emulator` (imported lazily)."""

from __future__ import annotations

import argparse
import importlib

from mlops_cli.context import Context, Result
from mlops_cli.errors import EXIT_USAGE, CliError


def run_local_up(ctx: Context, args: argparse.Namespace) -> Result:
    """Calls `local.emulator.up.main(argv)` with `--config`/`--port` passed through as strings."""
    try:
        module = importlib.import_module("local.emulator.up")
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == "local" or exc.name.startswith("local.")):
            raise CliError(
                "the local emulator is not available in this installation (module local.emulator.up not found)",
                EXIT_USAGE,
                hint="run from a checkout of the repository that contains local/emulator",
            ) from exc
        raise
    argv: list[str] = []
    if args.config:
        argv += ["--config", args.config]
    if args.port is not None:
        argv += ["--port", str(args.port)]
    code = module.main(argv)
    return Result(None, "", int(code or 0))
