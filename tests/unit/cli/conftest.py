"""Fixtures for the `mlops` CLI tests: moto, a state builder, a CLI runner, an API call recorder.

moto 5.2.5 runs with the project's extension installed (`local.emulator.install()`, process-wide and
idempotent): it stores ModelLifeCycle, keeps the approval on lifecycle-only updates, and gives
endpoints status transitions on a controllable clock (`advance()`). Installing it here makes these
tests behave the same whether or not another test module installed it first.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.client
import botocore.exceptions
import pytest
from moto import mock_aws

from local.emulator import install, reset_clock
from mlops_cli.main import main
from tests.unit.cli.world import REGION, World


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ROLE_ARN",
        "MOTO_ACCOUNT_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


_LOADER: list[Any] = []


@pytest.fixture(autouse=True)
def shared_botocore_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CLI run builds a new boto3 Session, which re-parses the service models (the SageMaker one
    is large). Sharing one read-only Loader keeps the suite fast; it changes no behaviour."""
    import botocore.loaders
    import botocore.session

    if not _LOADER:
        _LOADER.append(botocore.loaders.create_loader())
    monkeypatch.setattr(botocore.session, "create_loader", lambda *args, **kwargs: _LOADER[0])


@pytest.fixture
def world() -> Iterator[World]:
    install()
    reset_clock()
    with mock_aws():
        yield World()
    reset_clock()


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        import json

        return json.loads(self.out)


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def cli() -> Any:
    def run(*argv: str, stdin: io.StringIO | None = None) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), stdin=stdin or io.StringIO(""), stdout=out, stderr=err)
        return Run(code, out.getvalue(), err.getvalue())

    return run


@dataclass
class Calls:
    log: list[tuple[str, dict[str, Any]]]

    def named(self, operation: str) -> list[dict[str, Any]]:
        return [params for op, params in self.log if op == operation]

    def clear(self) -> None:
        self.log.clear()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Records every API call (operation name and parameters) made by any boto3 client."""
    recorded = Calls([])
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation: str, params: dict[str, Any]) -> Any:
        recorded.log.append((operation, dict(params)))
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return recorded


@pytest.fixture
def deny(calls: Calls, monkeypatch: pytest.MonkeyPatch) -> Any:
    """deny("Operation", ...): those calls fail with AccessDenied, as AWS answers them (error injection
    for what moto cannot express)."""
    denied: set[str] = set()
    inner = botocore.client.BaseClient._make_api_call

    def patched(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation in denied:
            calls.log.append((operation, dict(params)))
            raise botocore.exceptions.ClientError(
                {
                    "Error": {"Code": "AccessDenied", "Message": f"not authorized to perform {operation}"},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                },
                operation,
            )
        return inner(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", patched)
    return lambda *operations: denied.update(operations)
