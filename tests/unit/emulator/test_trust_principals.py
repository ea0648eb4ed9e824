"""Separation of duties inside one account (issue 9, finding 4): a trust policy narrowed by
``aws:PrincipalArn`` admits only the matching principals of the trusted account, as AWS evaluates it
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin

from local.emulator.principals import principal_arn
from local.emulator.service_iam import trust_denial

from .conftest import REGION

REGISTRY, TEAM = "111111111111", "555555555555"


def test_a_narrowed_trust_admits_only_the_matching_principals_of_the_team_account(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = boto3.client("iam", region_name=REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{TEAM}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "ArnLike": {"aws:PrincipalArn": [f"arn:aws:iam::{TEAM}:role/recsys-approvers-*"]}
                },
            }
        ],
    }
    monkeypatch.setenv("MOTO_ACCOUNT_ID", REGISTRY)  # the role lives in the registry account
    role_arn = iam.create_role(RoleName="mlops-recsys-approver", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    monkeypatch.delenv("MOTO_ACCOUNT_ID")

    def context(role: str) -> dict[str, list[str]]:
        return {"aws:PrincipalArn": [f"arn:aws:iam::{TEAM}:role/{role}"], "aws:PrincipalAccount": [TEAM]}

    approver = f"arn:aws:sts::{TEAM}:assumed-role/recsys-approvers-alice/alice"
    scientist = f"arn:aws:sts::{TEAM}:assumed-role/recsys-scientists-mallory/mallory"
    assert role_arn.startswith(f"arn:aws:iam::{REGISTRY}:role/")
    assert trust_denial(role_arn, approver, context("recsys-approvers-alice")) is None
    denial = trust_denial(role_arn, scientist, context("recsys-scientists-mallory"))
    assert denial is not None and "not authorized to perform: sts:AssumeRole" in denial


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _iam_of(account: str) -> Any:
    iam = boto3.client("iam", region_name=REGION)
    iam.meta.events.register(
        "before-sign.iam.*", lambda request, **_: request.headers.add_header("x-moto-account-id", account)
    )
    return iam


def _session(creds: dict[str, str]) -> Any:
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        region_name=REGION,
    )


SSO_PATH = f"/aws-reserved/sso.amazonaws.com/{REGION}/"
PEOPLE = {  # person role name -> path, in the team account
    "recsys-release-manager": "/",
    "recsys-data-scientist": "/",
    "AWSReservedSSO_RecsysRelease_0a1b2c3d": SSO_PATH,
    "AWSReservedSSO_PlatformAdmin_4e5f6a7b": SSO_PATH,
}


@pytest.fixture
def chain(aws: None) -> Iterator[dict[str, Any]]:
    """The team account's admin user, its person roles (trusting that user, allowed any AssumeRole) and
    the team's approver role in the registry account, narrowed to release managers; IAM enforcement on."""
    team_iam = _iam_of(TEAM)
    team_iam.create_user(UserName="admin")
    team_iam.put_user_policy(
        UserName="admin",
        PolicyName="admin",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    )
    key = team_iam.create_access_key(UserName="admin")["AccessKey"]
    for name, path in PEOPLE.items():
        team_iam.create_role(
            RoleName=name,
            Path=path,
            AssumeRolePolicyDocument=_doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{TEAM}:user/admin"},
                    "Action": "sts:AssumeRole",
                }
            ),
        )
        team_iam.put_role_policy(
            RoleName=name,
            PolicyName="assume",
            PolicyDocument=_doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}),
        )
    _iam_of(REGISTRY).create_role(
        RoleName="mlops-recsys-approver",
        AssumeRolePolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{TEAM}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "ArnLike": {
                        "aws:PrincipalArn": [
                            f"arn:aws:iam::{TEAM}:role/recsys-release-manager*",
                            f"arn:aws:iam::{TEAM}:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_RecsysRelease_*",
                        ]
                    }
                },
            }
        ),
    )
    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        yield {
            "admin": _session({"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]})
        }
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


def _as_person(chain: dict[str, Any], name: str) -> Any:
    role = f"arn:aws:iam::{TEAM}:role{PEOPLE[name]}{name}"
    creds = chain["admin"].client("sts").assume_role(RoleArn=role, RoleSessionName="someone")["Credentials"]
    return _session(creds)


APPROVER = f"arn:aws:iam::{REGISTRY}:role/mlops-recsys-approver"


@pytest.mark.parametrize("person", ["recsys-release-manager", "AWSReservedSSO_RecsysRelease_0a1b2c3d"])
def test_a_person_role_matching_the_pattern_assumes_the_team_role(chain: dict[str, Any], person: str) -> None:
    """A session's aws:PrincipalArn is its role's ARN, path included: an Identity Center role
    (``role/aws-reserved/sso.amazonaws.com/<region>/...``) matches a pattern with that path."""
    sts = _as_person(chain, person).client("sts")
    assumed = sts.assume_role(RoleArn=APPROVER, RoleSessionName="approving")["AssumedRoleUser"]["Arn"]
    assert assumed == f"arn:aws:sts::{REGISTRY}:assumed-role/mlops-recsys-approver/approving"


@pytest.mark.parametrize("person", ["recsys-data-scientist", "AWSReservedSSO_PlatformAdmin_4e5f6a7b"])
def test_a_person_role_outside_the_patterns_is_refused(chain: dict[str, Any], person: str) -> None:
    sts = _as_person(chain, person).client("sts")
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=APPROVER, RoleSessionName="approving")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert f"assumed-role/{person}/someone is not authorized to perform: sts:AssumeRole" in str(err.value)


def test_the_team_accounts_admin_user_matches_no_role_pattern(chain: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as err:
        chain["admin"].client("sts").assume_role(RoleArn=APPROVER, RoleSessionName="approving")
    assert err.value.response["Error"]["Code"] == "AccessDenied"


def test_principal_arn_of_a_role_session_is_its_roles_arn_with_the_path(chain: dict[str, Any]) -> None:
    name = "AWSReservedSSO_RecsysRelease_0a1b2c3d"
    session = f"arn:aws:sts::{TEAM}:assumed-role/{name}/someone"
    assert principal_arn(session) == f"arn:aws:iam::{TEAM}:role{SSO_PATH}{name}"
    assert principal_arn(f"arn:aws:iam::{TEAM}:user/admin") == f"arn:aws:iam::{TEAM}:user/admin"
    # a role that no longer exists: its name is all the session ARN tells
    gone = f"arn:aws:sts::{TEAM}:assumed-role/deleted-role/someone"
    assert principal_arn(gone) == f"arn:aws:iam::{TEAM}:role/deleted-role"
