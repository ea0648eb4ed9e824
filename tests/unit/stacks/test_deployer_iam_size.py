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


def deployer_policy(deployments: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The deployer role's statements and the cdk-nag errors of the deployer stack, synthesized with the
    checks on."""
    raw = scale_config(teams=200, groups_per_team=1, team_stacks=8, deployments=deployments)
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
    (small, small_errors), (large, large_errors) = small_and_large
    assert small_errors == [] and large_errors == []
    assert [s.get("Sid") for s in small] == [s.get("Sid") for s in large]

    def without_assume(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [s for s in statements if s.get("Sid") != "AssumeDeployAccess"]

    # identical except the list of serving accounts' deploy-access roles (one ARN per account, not per
    # deployment or team)
    assert without_assume(small) == without_assume(large)
    large_size = len(json.dumps(large, separators=(",", ":")))
    # Only the list of deploy-access roles grows (one ARN per serving account; 40 here): the policy must
    # leave room for as many serving accounts again inside IAM's inline limit.
    (assume,) = [s for s in large if s not in without_assume(large)]
    growth = len(json.dumps(assume, separators=(",", ":")))
    assert large_size + growth < IAM_MAX_ROLE_INLINE_POLICY_CHARS, (large_size, growth)
