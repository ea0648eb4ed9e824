"""``python -m local.emulator --port 4566``: the local AWS emulator in the foreground.

Prints one line ``ready <url>`` on stdout when it accepts requests (and, with ``--accounts``, after
the accounts' admin users exist and auth is on; their credentials go to ``--credentials-file``).
Ctrl-C or SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .server import EmulatorServer, create_account_admins, enable_auth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4566, help="0 picks a free port (default 4566)")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--creating-seconds", type=float, default=1.0)
    parser.add_argument("--updating-seconds", type=float, default=2.0)
    parser.add_argument("--rolling-back-seconds", type=float, default=1.0)
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="DeploymentConfig waits run this many times faster (default 1)",
    )
    parser.add_argument("--accounts", default="", help="comma-separated account ids: admin users + auth on")
    parser.add_argument("--region", default="us-east-1", help="region used to create the admin users")
    parser.add_argument("--credentials-file", type=Path, help="where to write the admins' credentials (JSON)")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = EmulatorServer(
        port=args.port,
        host=args.host,
        creating_seconds=args.creating_seconds,
        updating_seconds=args.updating_seconds,
        rolling_back_seconds=args.rolling_back_seconds,
        speed=args.speed,
    ).start()
    try:
        accounts = [a.strip() for a in args.accounts.split(",") if a.strip()]
        if accounts:
            creds = create_account_admins(server.url, accounts, args.region)
            enable_auth(server.url)
            if args.credentials_file:
                doc = {"endpoint_url": server.url, "accounts": {a: c.as_dict() for a, c in creds.items()}}
                args.credentials_file.write_text(json.dumps(doc, indent=2))
        print(f"ready {server.url}", flush=True)
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
