"""`mlops local up` fails at once, with one message, on a taken port or a bad config (no hang, no
traceback); a signal while it starts stops it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local.emulator import up
from local.emulator.server import EmulatorServer, PortInUse

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def taken_port() -> int:
    with socket.socket() as holder:
        holder.bind(("localhost", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_taken_port_fails_at_once_naming_it(taken_port: int, capsys) -> None:
    started = time.monotonic()
    assert up.main(["--port", str(taken_port)]) == 1
    assert time.monotonic() - started < 5  # before the synth, not after a hang
    # one message (a Node end-of-life banner may precede it when aws_cdk is first imported here)
    (message,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert message.startswith(f"error: port {taken_port} on localhost is in use")
    assert "--port" in message


def test_the_server_itself_refuses_a_taken_port(taken_port: int) -> None:
    with pytest.raises(PortInUse, match=str(taken_port)):
        EmulatorServer(port=taken_port).start()


def test_a_bad_config_is_one_message_as_synth_gives_it(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (ROOT / "config/example.yaml").read_text().replace("instance_count: 2", "instance_count: 0")
    )
    assert up.main(["--config", str(bad), "--port", "0"]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if "config error" in line]
    (message,) = lines
    assert message.startswith(f"{bad}: config error at 'deployments.fraud-detector-prod.instance_count': 0")


def test_sigterm_while_starting_stops_it(tmp_path: Path) -> None:
    """As a user's `kill` or Ctrl-C would, during the synth (before "ready")."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.emulator.up", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    first = ""
    while not first.startswith("starting"):  # `up` says so once its signal handlers are installed
        first = proc.stderr.readline()
        assert first, "the emulator exited before starting"
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, first + err
    assert "interrupted" in err
