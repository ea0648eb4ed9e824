"""Fixtures for the `mlops` CLI tests: moto, a state builder, a CLI runner, an API call recorder.

`lifecycle` stands in for what moto 5.2.5 gets wrong and the local emulator will fix (DESIGN section 6):
moto neither stores nor returns ModelLifeCycle, and an UpdateModelPackage without ModelApprovalStatus
wipes the approval. The fixture records lifecycle updates, returns them from Describe/ListModelPackages
and keeps the approval on lifecycle-only updates, as SageMaker does. Tests that use it could switch to
`local.emulator.install()` once the emulator covers the registry.
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

from mlops_cli.main import main
from tests.unit.cli.world import REGION, World


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()


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
def lifecycle(calls: Calls, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, str]]:
    """Makes moto keep ModelLifeCycle and not wipe approvals (see the module docstring)."""
    stages: dict[str, dict[str, str]] = {}
    inner = botocore.client.BaseClient._make_api_call  # the recording wrapper

    def patched(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "UpdateModelPackage":
            arn = params["ModelPackageArn"]
            if "ModelLifeCycle" in params:
                stages[arn] = dict(params["ModelLifeCycle"])
            if "ModelApprovalStatus" not in params:
                recorded_params = dict(params)
                current = inner(self, "DescribeModelPackage", {"ModelPackageName": arn})
                calls.log.pop()  # the lookup above is ours, not the CLI's
                params = {**params, "ModelApprovalStatus": current["ModelApprovalStatus"]}
                if current.get("ApprovalDescription"):
                    params["ApprovalDescription"] = current["ApprovalDescription"]
                response = inner(self, operation, params)
                calls.log[-1] = (operation, recorded_params)
                return response
        response = inner(self, operation, params)
        if operation == "CreateModelPackage" and "ModelLifeCycle" in params:
            stages[response["ModelPackageArn"]] = dict(params["ModelLifeCycle"])
        elif operation == "DescribeModelPackage" and response.get("ModelPackageArn") in stages:
            response["ModelLifeCycle"] = stages[response["ModelPackageArn"]]
        elif operation == "ListModelPackages":
            for summary in response.get("ModelPackageSummaryList", []):
                if summary["ModelPackageArn"] in stages:
                    summary["ModelLifeCycle"] = stages[summary["ModelPackageArn"]]
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", patched)
    return stages


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
