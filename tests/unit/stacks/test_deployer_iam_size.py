"""The deployer's IAM does not grow with deployments or teams: 6 and 200 deployments give the same
statements (half of the 200 in the registry account, the rest over 40 serving accounts)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

from stacks.config import parse_config
from stacks.deployer_stack import DeployerStack
from tests.fixtures.scale import scale_config
from tests.unit.stacks.synth import cdk_context

IAM_MAX_ROLE_INLINE_POLICY_CHARS = 10_240


def deployer_policy(deployments: int, *, organization: bool = True) -> tuple[list[dict[str, Any]], list[str]]:
    """The deployer role's statements and the cdk-nag errors of the deployer stack, synthesized with the
    checks on."""
    if organization:
        raw = scale_config(teams=200, groups_per_team=1, team_stacks=8, deployments=deployments)
    else:  # without an organization the config allows at most 100 team accounts
        raw = scale_config(teams=100, groups_per_team=2, team_stacks=8, deployments=deployments)
        raw["registry"].pop("organization_id")
    config = parse_config(raw)
    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    env = cdk.Environment(account=config.registry.account, region=config.registry.region)
    DeployerStack(app, "MlopsDeployer", config=config, env=env)
    cdk.Aspects.of(app).add(AwsSolutionsChecks())
    assembly = app.synth()
    (artifact,) = assembly.stacks
    errors = [str(m.entry.data) for m in artifact.messages if str(m.level.value) == "error"]
    template = artifact.template
    role_id = next(
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and r["Properties"].get("RoleName") == "mlops-deployer"
    )
    policies = [
        r
        for r in template["Resources"].values()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and {"Ref": role_id} in r["Properties"].get("Roles", [])
    ]
    assert len(policies) == 1, "one inline policy: nothing overflowed into managed policies"
    return policies[0]["Properties"]["PolicyDocument"]["Statement"], errors


@pytest.fixture(scope="module")
def small_and_large() -> tuple[
    tuple[list[dict[str, Any]], list[str]], tuple[list[dict[str, Any]], list[str]]
]:
    return deployer_policy(6), deployer_policy(200)


def test_deployer_statements_are_the_same_for_6_and_200_deployments(small_and_large: Any) -> None:
    """With an organization nothing grows: the serving accounts' deploy-access role is one ARN pattern
    (`iam::*:role/mlops-deploy-access`) narrowed by aws:ResourceOrgID."""
    (small, small_errors), (large, large_errors) = small_and_large
    assert small_errors == [] and large_errors == []
    assert small == large
    (assume,) = [s for s in large if s.get("Sid") == "AssumeDeployAccess"]
    assert assume["Action"] == "sts:AssumeRole"
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": "o-a1b2c3d4e5"}}
    assert ":iam::*:role/mlops-deploy-access" in json.dumps(assume["Resource"])
    large_size = len(json.dumps(large, separators=(",", ":")))
    assert large_size < IAM_MAX_ROLE_INLINE_POLICY_CHARS / 2, large_size


def test_without_an_organization_only_the_account_list_grows() -> None:
    """Without an organization the statement lists the serving accounts (aws:ResourceAccount, 15 characters
    each): at 200 deployments over 40 serving accounts the policy leaves room for hundreds more."""
    (small, small_errors), (large, large_errors) = (
        deployer_policy(6, organization=False),
        deployer_policy(200, organization=False),
    )
    assert small_errors == [] and large_errors == []

    def without_assume(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [s for s in statements if s.get("Sid") != "AssumeDeployAccess"]

    assert without_assume(small) == without_assume(large)
    (assume,) = [s for s in large if s.get("Sid") == "AssumeDeployAccess"]
    accounts = assume["Condition"]["StringEquals"]["aws:ResourceAccount"]
    assert len(accounts) == 40 and all(len(a) == 12 for a in accounts)
    large_size = len(json.dumps(large, separators=(",", ":")))
    room = (IAM_MAX_ROLE_INLINE_POLICY_CHARS - large_size) // len('"123456789012",')
    assert room >= 300, (large_size, room)
