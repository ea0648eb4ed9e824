"""The plain-data shortcuts of stacks/constructs/policy_data.py render exactly what the CDK constructs they
replace render: same logical ids, same properties (a deployed stack must not notice the difference)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from constructs import Construct

from stacks.constructs.policy_data import (
    ArnParts,
    PlainRole,
    attach_default_policy,
    logical_id,
    statement,
    trust_statement,
)
from tests.unit.stacks.synth import cdk_context

ENV = cdk.Environment(account="111111111111", region="eu-west-1")


def stack(name: str) -> cdk.Stack:
    return cdk.Stack(cdk.App(context=cdk_context()), name, env=ENV)


@pytest.mark.parametrize(
    "path",
    [
        ["Team-fraud", "Roles", "Publisher", "DefaultPolicy", "Resource"],
        ["Team-a.b_c", "Group-fraud-detector", "Group"],
        ["Queue"],
        ["Roles", "RolesPolicy", "Resource"],  # a component ending with the previous one's id
        ["Default", "Queue"],  # "Default" is dropped entirely
        ["Team-" + "x" * 250, "Roles", "Resource"],  # the human part is cut at 240 characters
    ],
)
def test_logical_id_is_the_one_cdk_allocates(path: list[str]) -> None:
    here = stack("Ids")
    scope: Construct = here
    for construct_id in path[:-1]:
        scope = Construct(scope, construct_id)
    element = cdk.CfnResource(scope, path[-1], type="AWS::SQS::Queue")
    assert logical_id(path) == here.get_logical_id(element)


def _trust(arns: ArnParts, account: str) -> tuple[iam.IPrincipal, dict[str, Any]]:
    conditions = {
        "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
        "ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::222222222222:role/ds-*"]},
    }
    principal = iam.PrincipalWithConditions(iam.AccountPrincipal(account), conditions)
    return principal, trust_statement(arns.account_root(account), conditions)


def test_plain_role_renders_as_the_l2_role_with_its_default_policy() -> None:
    """Both ways inside a team-like scope: every resource (logical id, type, properties) is equal."""
    rendered = []
    for make_plain in (False, True):
        here = stack("Roles")
        arns = ArnParts.of(here)
        roles = Construct(Construct(here, "Team-fraud"), "Roles")
        principal, trust = _trust(arns, "222222222222")
        statements = [
            statement("ReadOwn", ["s3:GetObject"], [f"arn:{arns.partition}:s3:::bucket/fraud/*"]),
            statement(
                "Register",
                ["sagemaker:CreateModelPackage", "sagemaker:AddTags"],
                [
                    arns.arn("sagemaker", "model-package-group", "g1"),
                    arns.arn("sagemaker", "model-package", "g1/*"),
                ],
                {"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}},
            ),
        ]
        if make_plain:
            made = PlainRole.create(
                roles,
                "Publisher",
                path=["Team-fraud", "Roles"],
                role_name="mlops-fraud-publisher",
                description="Team fraud: publisher",
                trust=trust,
                statements=statements,
            )
            cdk.CfnOutput(here, "Arn", value=made.role.attr_arn)
        else:
            role = iam.Role(
                roles,
                "Publisher",
                role_name="mlops-fraud-publisher",
                description="Team fraud: publisher",
                assumed_by=principal,
            )
            attach_default_policy(here, role, statements)
            cdk.CfnOutput(here, "Arn", value=role.role_arn)
        cdk.Tags.of(here).add("mlops:project", "model-registry")
        rendered.append(Template.from_stack(here).to_json())
    l2, plain = rendered
    assert (
        set(plain["Resources"])
        == set(l2["Resources"])
        == {
            logical_id(["Team-fraud", "Roles", "Publisher", "Resource"]),
            logical_id(["Team-fraud", "Roles", "Publisher", "DefaultPolicy", "Resource"]),
        }
    )
    assert plain["Resources"] == l2["Resources"]
    assert plain["Outputs"] == l2["Outputs"]
