"""Emulator fixes checked against the in-process server with IAM enforcement on: REST signatures,
cross-account CreateModel from a package (group policy and organization membership)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.base_backend import BackendDict

from local.emulator import organizations
from local.emulator.server import EmulatorServer, create_account_admins, enable_auth

from .test_deploy_fixes import _package

REGION = "eu-west-1"
REGISTRY, SERVING = "111111111111", "333333333333"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, dict[str, Any]]]:
    BackendDict.reset()
    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    with EmulatorServer(port=0) as emu:
        creds = create_account_admins(emu.url, [REGISTRY, SERVING], REGION)
        enable_auth(emu.url)
        try:
            yield emu.url, creds
        finally:
            settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved
            organizations.clear()
    BackendDict.reset()


def _client(service: str, server: tuple[str, dict[str, Any]], account: str) -> Any:
    url, creds = server
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=creds[account].access_key_id,
        aws_secret_access_key=creds[account].secret_access_key,
        aws_session_token=None,
    )


def test_lambda_get_requests_pass_the_signature_check(server: tuple[str, dict[str, Any]]) -> None:
    assert _client("lambda", server, REGISTRY).list_functions()["Functions"] == []


def test_cross_account_create_model_follows_the_group_policy_and_organization(
    server: tuple[str, dict[str, Any]],
) -> None:
    registry = _client("sagemaker", server, REGISTRY)
    arn = _package(registry, "cross")
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": SERVING},
        "Action": ["sagemaker:CreateModel", "sagemaker:DescribeModelPackage"],
        "Resource": f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package/cross/*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    }
    registry.put_model_package_group_policy(
        ModelPackageGroupName="cross",
        ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    serving = _client("sagemaker", server, SERVING)
    role = f"arn:aws:iam::{SERVING}:role/exec"

    def create(name: str) -> None:
        serving.create_model(ModelName=name, ExecutionRoleArn=role, Containers=[{"ModelPackageName": arn}])

    with pytest.raises(ClientError) as outside:  # the serving account is not in the organization yet
        create("outside")
    assert outside.value.response["Error"]["Code"] == "AccessDeniedException"
    organizations.set_organization("o-a1b2c3d4e5", [REGISTRY, SERVING])
    create("inside")
    assert serving.describe_model(ModelName="inside")["Containers"][0]["ModelPackageName"] == arn
