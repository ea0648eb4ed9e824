"""approve, reject, promote against moto (AccessDenied through moto's IAM enforcement)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto.core.authorization import enable_iam_authentication

from tests.unit.cli.world import REGION, World


def _seed(world: World) -> None:
    world.group("fraud-detector", team="risk")
    world.version("fraud-detector", "Approved")
    world.version("fraud-detector")
    world.deployment("fraud-prod", "fraud-detector")
    world.deployment("fraud-live", "fraud-detector", follows="Production")
    world.deployer()


def test_approve_stores_reason_as_approval_description(world: World, cli) -> None:
    _seed(world)
    run = cli("approve", "fraud-detector", "2", "--reason", "AUC +2% on holdout", "--json")
    assert run.code == 0, run.err
    package = world.package(world.package_arn("fraud-detector", 2))
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ApprovalDescription"] == "AUC +2% on holdout"
    data = run.json()
    assert (data["previous_status"], data["status"]) == ("PendingManualApproval", "Approved")
    assert [e["endpoint"] for e in data["endpoints"]] == ["fraud-prod"]


def test_reject_prints_transition_and_followers(world: World, cli) -> None:
    _seed(world)
    run = cli("reject", "fraud-detector", "1", "--reason", "data leak")
    assert run.code == 0, run.err
    assert run.out.startswith("fraud-detector v1: Approved -> Rejected (data leak)")
    assert "123456789012/eu-west-1/fraud-prod" in run.out
    assert world.package(world.package_arn("fraud-detector", 1))["ModelApprovalStatus"] == "Rejected"


def test_approve_requires_a_reason(world: World, cli) -> None:
    _seed(world)
    assert cli("approve", "fraud-detector", "2").code == 1
    run = cli("approve", "fraud-detector", "2", "--reason", "  ")
    assert run.code == 1 and "--reason must not be empty" in run.err


def test_approve_unknown_version_is_not_found(world: World, cli) -> None:
    _seed(world)
    run = cli("approve", "fraud-detector", "9", "--reason", "x")
    assert run.code == 2 and "version 9" in run.err


def test_promote_sends_only_the_lifecycle(world: World, cli, calls) -> None:
    _seed(world)
    run = cli("promote", "fraud-detector", "1", "--stage", "Production", "--reason", "canary ok", "--json")
    assert run.code == 0, run.err
    (update,) = calls.named("UpdateModelPackage")
    assert update == {
        "ModelPackageArn": world.package_arn("fraud-detector", 1),
        "ModelLifeCycle": {"Stage": "Production", "StageStatus": "Approved", "StageDescription": "canary ok"},
    }
    data = run.json()
    assert (data["previous_stage"], data["stage"], data["stage_status"]) == (None, "Production", "Approved")
    assert [e["endpoint"] for e in data["endpoints"]] == ["fraud-live"]
    package = world.package(world.package_arn("fraud-detector", 1))
    assert package["ModelApprovalStatus"] == "Approved"  # the emulator, like SageMaker, keeps the approval
    assert package["ModelLifeCycle"]["Stage"] == "Production"
    again = cli("promote", "fraud-detector", "1", "--stage", "Archived", "--stage-status", "Retired")
    assert "Production/Approved -> Archived/Retired" in again.out


def test_promote_rejects_invalid_stage_names(world: World, cli) -> None:
    _seed(world)
    run = cli("promote", "fraud-detector", "1", "--stage", "Prod uction")
    assert run.code == 1 and "not a valid lifecycle name" in run.err


def _restricted_user(world: World, actions: list[str]) -> dict[str, str]:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="publisher")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.put_user_policy(UserName="publisher", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="publisher")["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


@pytest.mark.parametrize("command", [["approve", "--reason", "ok"], ["promote", "--stage", "Production"]])
def test_access_denied_names_the_approver_role(world: World, cli, monkeypatch, command) -> None:
    """moto's IAM enforcement denies UpdateModelPackage to a user that may only read."""
    _seed(world)
    creds = _restricted_user(world, ["sagemaker:Describe*", "sagemaker:List*", "ssm:GetParametersByPath"])
    for name, value in creds.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    argv = [command[0], "fraud-detector", "2", *command[1:]]
    with enable_iam_authentication():
        run = cli(*argv)
    assert run.code == 3, run.err
    assert "permission denied for UpdateModelPackage" in run.err
    assert "mlops-risk-approver" in run.err
    assert (
        world.package(world.package_arn("fraud-detector", 2))["ModelApprovalStatus"]
        == "PendingManualApproval"
    )


def test_reason_longer_than_the_api_limit(world: World, cli) -> None:
    _seed(world)
    run = cli("reject", "fraud-detector", "1", "--reason", "x" * 1025)
    assert run.code == 1 and "1024" in run.err
