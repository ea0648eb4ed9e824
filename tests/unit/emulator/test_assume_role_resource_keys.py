"""sts:AssumeRole is authorized with the assumed role's aws:ResourceAccount and aws:ResourceOrgID, so an
identity policy may allow one role name in every account of the organization (the deployer's constant-size
statement): https://aws.amazon.com/about-aws/whats-new/2022/04/iam-access-resource-organization/."""

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
from local.emulator.service_roles import service_role_credentials

from .conftest import ACCOUNT, REGION

ORG = "o-a1b2c3d4e5"
MEMBER = "333333333333"
OUTSIDER = "666666666666"
ROLE = "mlops-deploy-access"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _iam_of(account: str) -> Any:
    client = boto3.client("iam", region_name=REGION)
    client.meta.events.register(
        "before-sign.iam.*", lambda request, **_: request.headers.add_header("x-moto-account-id", account)
    )
    return client


@pytest.fixture(scope="module")
def deployer(_mocked: None) -> Iterator[Any]:
    """A Lambda role allowed ``sts:AssumeRole`` on ``mlops-deploy-access`` of any account of the
    organization; that role exists (trusting it) in a member account and in an outside account."""
    BackendDict.reset()
    iam = boto3.client("iam", region_name=REGION)
    trust = _doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=trust)
    iam.put_role_policy(
        RoleName="deployer",
        PolicyName="p",
        PolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": f"arn:aws:iam::*:role/{ROLE}",
                "Condition": {"StringEquals": {"aws:ResourceOrgID": ORG}},
            }
        ),
    )
    for account in (MEMBER, OUTSIDER):
        _iam_of(account).create_role(
            RoleName=ROLE,
            AssumeRolePolicyDocument=_doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/deployer"},
                    "Action": "sts:AssumeRole",
                }
            ),
        )
    organizations.set_organization(ORG, [ACCOUNT, MEMBER])
    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        creds = service_role_credentials(
            f"arn:aws:iam::{ACCOUNT}:role/deployer", session_name="deployer", region=REGION
        )
        yield boto3.Session(
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            region_name=REGION,
        ).client("sts")
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved
        organizations.clear()


def test_the_role_in_a_member_account_may_be_assumed(deployer: Any) -> None:
    creds = deployer.assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/{ROLE}", RoleSessionName="deployer")
    assert creds["Credentials"]["AccessKeyId"]


def test_the_same_role_name_outside_the_organization_may_not(deployer: Any) -> None:
    with pytest.raises(ClientError) as err:
        deployer.assume_role(RoleArn=f"arn:aws:iam::{OUTSIDER}:role/{ROLE}", RoleSessionName="deployer")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
