"""300 teams and 900 groups synthesize inside every CloudFormation and IAM limit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import parse_config
from stacks.placement import estimate, plan, team_stack_name
from tests.fixtures.scale import scale_config
from tests.unit.stacks.synth import Synthesized, synthesize

CFN_MAX_RESOURCES = 500
CFN_MAX_OUTPUTS = 200
CFN_MAX_TEMPLATE_BYTES = 1_048_576  # template body uploaded from S3
IAM_MAX_ROLE_INLINE_POLICY_CHARS = 10_240  # aggregate of a role's inline policies, whitespace excluded
IAM_MAX_TRUST_POLICY_CHARS = 2_048  # default quota of a role trust policy
SAGEMAKER_MAX_GROUP_POLICY_CHARS = 20_480


@pytest.fixture(scope="module")
def big() -> Synthesized:
    return synthesize(parse_config(scale_config()), nag=False)


def compact(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def test_the_big_config_has_300_teams_and_900_groups(big: Synthesized) -> None:
    groups = big.all_resources("AWS::SageMaker::ModelPackageGroup")
    roles = [r for s, _, r in big.all_resources("AWS::IAM::Role") if s.startswith("MlopsRegistryTeams")]
    assert len(big.config.teams) == 300 and len(groups) == 900 and len(roles) == 600
    team_stacks = [name for name in big.templates if name.startswith("MlopsRegistryTeams")]
    assert len(team_stacks) == len(plan(big.config, None).stacks)


def test_every_template_is_inside_cloudformation_limits(big: Synthesized) -> None:
    for name, template in big.templates.items():
        assert len(template["Resources"]) <= CFN_MAX_RESOURCES, name
        assert len(template.get("Outputs", {})) <= CFN_MAX_OUTPUTS, name
        assert big.template_bytes[name] <= CFN_MAX_TEMPLATE_BYTES, name


def test_config_estimate_is_an_upper_bound_of_real_sizes(big: Synthesized) -> None:
    placements = plan(big.config, None)
    for stack in placements.stacks:
        name = team_stack_name(stack)
        size = estimate(big.config, [p for _, p in placements.in_stack(stack)])
        assert big.template_bytes[name] <= size["bytes"], name
        assert len(big.templates[name]["Resources"]) <= size["resources"], name


def test_every_policy_is_inside_its_size_limit(big: Synthesized) -> None:
    largest_group_policy = max(
        compact(r["Properties"]["ModelPackageGroupPolicy"])
        for _, _, r in big.all_resources("AWS::SageMaker::ModelPackageGroup")
    )
    assert largest_group_policy <= SAGEMAKER_MAX_GROUP_POLICY_CHARS
    for stack, role_id, role in big.all_resources("AWS::IAM::Role"):
        assert compact(role["Properties"]["AssumeRolePolicyDocument"]) <= IAM_MAX_TRUST_POLICY_CHARS
        inline = sum(
            compact(p["Properties"]["PolicyDocument"])
            for p in big.resources(stack, "AWS::IAM::Policy").values()
            if {"Ref": role_id} in p["Properties"]["Roles"]
        )
        assert 0 < inline <= IAM_MAX_ROLE_INLINE_POLICY_CHARS, role_id
