"""Separation of duties inside one account (issue 9, finding 4): a trust policy narrowed by
``aws:PrincipalArn`` admits only the matching principals of the trusted account, as AWS evaluates it
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn)."""

from __future__ import annotations

import json

import boto3
import pytest

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
