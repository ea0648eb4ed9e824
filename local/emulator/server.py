"""Run moto's server in this process with the extension installed; per-account credentials.

    with EmulatorServer(port=0) as server:          # 0 = a free port
        creds = create_account_admins(server.url, ["111111111111", "333333333333"])
        enable_auth(server.url)                      # from now on IAM policies are enforced
        ...boto3 clients with endpoint_url=server.url and creds[account]...

Each emulated account gets an IAM user ``emulator-admin`` with an ``Action: *`` inline policy and
an access key; moto resolves a request's account from the access key's owner (leave
``MOTO_ACCOUNT_ID`` unset). The users must exist before auth is switched on.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from . import clock, endpoints, install

ADMIN_USER = "emulator-admin"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str

    def as_dict(self) -> dict[str, str]:
        return {"access_key_id": self.access_key_id, "secret_access_key": self.secret_access_key}


class PortInUse(RuntimeError):
    """The emulator's port is taken (moto's server thread would only print it and hang)."""


def check_port_free(host: str, port: int) -> None:
    """Bind the port the way the server will (IPv4, SO_REUSEADDR), and let it go: fail at once,
    naming the port, instead of a server thread that dies while the caller waits for it forever."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(
                f"port {port} on {host} is in use ({exc.strerror}): is another `mlops local up` running? "
                "Stop it, or pass --port N (0 = any free port)"
            ) from None


class EmulatorServer:
    """moto's threaded server on ``host:port`` with the extension, a realtime clock and a ticker."""

    def __init__(
        self,
        port: int = 4566,
        host: str = "localhost",
        *,
        creating_seconds: float = 1.0,
        updating_seconds: float = 2.0,
        rolling_back_seconds: float = 1.0,
        speed: float = 1.0,
        tick_interval: float = 0.2,
    ) -> None:
        if "MOTO_ACCOUNT_ID" in os.environ:
            raise RuntimeError("unset MOTO_ACCOUNT_ID: it forces every request into one account")
        self.host = host
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self._timing = dict(
            creating_seconds=creating_seconds,
            updating_seconds=updating_seconds,
            rolling_back_seconds=rolling_back_seconds,
            speed=speed,
        )
        self._tick_interval = tick_interval
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        check_port_free(self.host, self.port)
        install()
        clock.configure(realtime=True, **self._timing)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        endpoints.start_ticker(self._tick_interval)
        return self

    def stop(self) -> None:
        endpoints.stop_ticker()
        self._server.stop()
        clock.configure(realtime=False)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _client(service: str, endpoint_url: str, region: str, **kwargs: Any) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, **kwargs)


def create_account_admin(endpoint_url: str, account_id: str, region: str = "us-east-1") -> Credentials:
    """An admin IAM user with an access key in ``account_id`` (call before :func:`enable_auth`)."""
    iam = _client(
        "iam", endpoint_url, region, aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap"
    )
    iam.meta.events.register(
        "before-sign.iam.*", lambda request, **_: request.headers.add_header("x-moto-account-id", account_id)
    )
    existing = {u["UserName"] for u in iam.list_users()["Users"]}
    if ADMIN_USER not in existing:
        iam.create_user(UserName=ADMIN_USER)
        iam.put_user_policy(UserName=ADMIN_USER, PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def create_account_admins(
    endpoint_url: str, accounts: list[str], region: str = "us-east-1"
) -> dict[str, Credentials]:
    return {account: create_account_admin(endpoint_url, account, region) for account in accounts}


def enable_auth(endpoint_url: str, initial_no_auth_action_count: int = 0) -> None:
    """Switch moto's IAM enforcement on (``POST /moto-api/reset-auth``)."""
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/reset-auth",
        data=str(initial_no_auth_action_count).encode(),
        headers={"Content-Type": "text/plain"},  # a form content type would hide the body
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local emulator URL
        response.read()
