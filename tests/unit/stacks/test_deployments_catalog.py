"""The deployments catalog: SSM parameters written by the deployer stack, readable by team roles."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from stacks.config import parse_config
from stacks.constructs.deployments_catalog import MAX_PART_CHARS, catalog_parts
from stacks.deployer_stack import DeployerStack
from tests.fixtures.scale import scale_config
from tests.unit.stacks.policy_helpers import render
from tests.unit.stacks.synth import Synthesized, cdk_context, example


@pytest.fixture(scope="module")
def synth() -> Synthesized:
    return example()


def _parts(template: dict[str, Any]) -> dict[str, str]:
    return {
        r["Properties"]["Name"]: r["Properties"]["Value"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter"
    }


def _joined(parts: dict[str, str]) -> list[dict[str, Any]]:
    documents = [json.loads(parts[name]) for name in sorted(parts)]
    assert [d["part"] for d in documents] == list(range(len(documents)))
    assert {d["parts"] for d in documents} == {len(documents)}
    return [item for d in documents for item in d["deployments"]]


def test_catalog_holds_exactly_what_the_deployer_is_configured_with(synth: Synthesized) -> None:
    template = synth.templates["MlopsDeployer"]
    parameters = [r for r in template["Resources"].values() if r["Type"] == "AWS::SSM::Parameter"]
    assert parameters and all(
        p["Properties"]["Type"] == "String" and p["Properties"]["Tier"] == "Standard" for p in parameters
    )
    parts = _parts(template)
    assert sorted(parts) == [f"/mlops/deployments/part-{i:03d}" for i in range(len(parts))]
    first = json.loads(parts["/mlops/deployments/part-000"])
    assert first["registry"] == {"account": "111111111111", "region": "eu-west-1"}
    function = next(
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("FunctionName") == "mlops-deployer"
    )
    asset = synth.template_paths["MlopsDeployer"].parent / (
        "asset." + function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    )
    assert _joined(parts) == json.loads((asset / "deployments.json").read_text())


def test_team_and_approver_roles_may_read_the_catalog_path_only(synth: Synthesized) -> None:
    found = 0
    for stack in synth.templates:
        for policy in synth.resources(stack, "AWS::IAM::Policy").values():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement.get("Sid") != "ReadDeploymentsCatalog":
                    continue
                found += 1
                assert statement["Effect"] == "Allow"
                assert statement["Action"] == "ssm:GetParametersByPath"
                assert render(statement["Resource"]) == (
                    "arn:aws:ssm:eu-west-1:111111111111:parameter/mlops/deployments"
                )
                assert "Condition" not in statement
    roles = [
        r["Properties"]["RoleName"]
        for s in synth.templates
        for r in synth.resources(s, "AWS::IAM::Role").values()
        if str(r["Properties"].get("RoleName", "")).endswith(("-publisher", "-approver"))
    ]
    assert roles and found == len(roles)


def test_parts_pack_whole_deployments_below_the_standard_tier_limit() -> None:
    deployments = [{"endpoint": f"ep-{i}", "padding": "x" * 900} for i in range(10)]
    parts = catalog_parts(deployments, registry_account="111111111111", registry_region="eu-west-1")
    assert len(parts) == 3  # 4 + 4 + 2 of about 930 characters each
    assert all(len(p) <= MAX_PART_CHARS for p in parts)
    assert [d for p in parts for d in json.loads(p)["deployments"]] == deployments
    empty = catalog_parts([], registry_account="111111111111", registry_region="eu-west-1")
    assert [json.loads(p)["deployments"] for p in empty] == [[]]
    with pytest.raises(ValueError, match="'huge' alone is longer than 4096 characters"):
        catalog_parts(
            [{"endpoint": "huge", "padding": "x" * 5000}], registry_account="1", registry_region="r"
        )


def test_200_deployments_fit_in_standard_parameters() -> None:
    """The scale the issue names: 200 managed endpoints, every part a standard parameter (<= 4096)."""
    raw = scale_config(teams=200, groups_per_team=1, team_stacks=8)
    raw["deployments"] = {
        f"endpoint-number-{i:03d}-prod": {
            "model_group": f"team-{i:03d}-model-0",
            "account": f"{700000000000 + i % 20:012d}",
            "instance_type": "ml.m5.large",
            "instance_count": 2,
            "rollout": {"strategy": "canary", "step_percent": 50, "wait_seconds": 60, "bake_seconds": 60},
        }
        for i in range(200)
    }
    config = parse_config(raw)
    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    env = cdk.Environment(account=config.registry.account, region=config.registry.region)
    stack = DeployerStack(app, "MlopsDeployer", config=config, env=env)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    parts = _parts(template)
    assert all(isinstance(v, str) and len(v) <= MAX_PART_CHARS for v in parts.values())
    assert len(_joined(parts)) == 200
    print(f"200 deployments: {len(parts)} standard parameters")
    assert len(parts) <= 60  # about 700 characters per deployment
