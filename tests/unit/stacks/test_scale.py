"""1,000 teams, 3,000 groups and 200 deployments (half in the registry account, the rest over 40 serving
accounts): `app.py` synthesizes them as `cdk synth` runs it, cdk-nag on, every template and policy inside
its limit. One synth for the module (a few minutes on 2 cores; the slowest test of `make test`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.config import parse_config
from stacks.placement import estimate, load_placements, team_stack_name
from tests.fixtures.scale import scale_config
from tests.unit.stacks.synth import ROOT

CFN_MAX_RESOURCES = 500
CFN_MAX_OUTPUTS = 200
CFN_MAX_TEMPLATE_BYTES = 1_048_576  # template body uploaded from S3
IAM_MAX_ROLE_INLINE_POLICY_CHARS = 10_240  # aggregate of a role's inline policies, whitespace excluded
IAM_MAX_TRUST_POLICY_CHARS = 2_048  # default quota of a role trust policy
SAGEMAKER_MAX_GROUP_POLICY_CHARS = 20_480
IAM_MAX_MANAGED_POLICY_CHARS = 6_144
IAM_MAX_MANAGED_POLICIES_PER_ROLE = 10
EVENTBRIDGE_MAX_PATTERN_CHARS = 2_048


class Big:
    def __init__(self, raw: dict[str, Any], workdir: Path) -> None:
        config_file = workdir / "registry.yaml"
        config_file.write_text(yaml.safe_dump(raw, sort_keys=False))
        self.config = parse_config(raw)
        out = workdir / "cdk.out"
        env = {
            **os.environ,
            "CDK_CONTEXT_JSON": json.dumps({"config": str(config_file)}),
            "CDK_OUTDIR": str(out),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
        env.pop("MLOPS_SKIP_NAG", None)  # cdk-nag on: findings are errors and stop synth
        started = time.monotonic()
        self.result = subprocess.run(
            [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        self.seconds = time.monotonic() - started
        self.placements = load_placements(workdir / "registry.placements.json")
        manifest = json.loads((out / "manifest.json").read_text()) if self.result.returncode == 0 else {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.template_bytes: dict[str, int] = {}
        for artifact in manifest.get("artifacts", {}).values():
            if artifact["type"] == "aws:cloudformation:stack":
                path = out / artifact["properties"]["templateFile"]
                self.templates[artifact["displayName"]] = json.loads(path.read_text())
                self.template_bytes[artifact["displayName"]] = path.stat().st_size

    def resources(self, stack: str, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.templates[stack]["Resources"].items() if v["Type"] == type_}

    def all_resources(self, type_: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [(s, k, v) for s in self.templates for k, v in self.resources(s, type_).items()]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Big:
    raw = scale_config(teams=1000, groups_per_team=3, team_stacks=40, deployments=200)
    return Big(raw, tmp_path_factory.mktemp("scale"))


def compact(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def test_app_synthesizes_1000_teams_with_cdk_nag_on(big: Big) -> None:
    assert big.result.returncode == 0, big.result.stderr[-3000:]
    print(f"\n1,000-team synth with cdk-nag: {big.seconds:.0f} s")
    groups = big.all_resources("AWS::SageMaker::ModelPackageGroup")
    roles = [r for s, _, r in big.all_resources("AWS::IAM::Role") if s.startswith("MlopsRegistryTeams")]
    assert len(big.config.teams) == 1000 and len(groups) == 3000 and len(roles) == 2000
    in_registry = [d for d in big.config.deployments if d.account == big.config.registry.account]
    assert len(big.config.deployments) == 200 and len(in_registry) == 100
    assert len({d.account for d in big.config.deployments} - {big.config.registry.account}) == 40


def test_every_template_is_inside_cloudformation_limits(big: Big) -> None:
    for name, template in big.templates.items():
        assert len(template["Resources"]) <= CFN_MAX_RESOURCES, name
        assert len(template.get("Outputs", {})) <= CFN_MAX_OUTPUTS, name
        assert big.template_bytes[name] <= CFN_MAX_TEMPLATE_BYTES, name


def test_placement_estimate_is_an_upper_bound_of_real_sizes(big: Big) -> None:
    assert big.placements is not None
    for stack in big.placements.stacks:
        name = team_stack_name(stack)
        size = estimate(big.config, [p for _, p in big.placements.in_stack(stack)])
        assert big.template_bytes[name] <= size["bytes"], name
        assert len(big.templates[name]["Resources"]) <= size["resources"], name
        assert len(big.templates[name].get("Outputs", {})) <= size["outputs"], name


def test_every_policy_is_inside_its_size_limit(big: Big) -> None:
    group_policies = [
        compact(r["Properties"]["ModelPackageGroupPolicy"])
        for _, _, r in big.all_resources("AWS::SageMaker::ModelPackageGroup")
    ]
    # constant-size discovery: no group policy grows with the number of teams (1,600: issue 9's
    # lifecycle-stage and deploy-access conditions)
    assert max(group_policies) <= 1_600 < SAGEMAKER_MAX_GROUP_POLICY_CHARS
    for stack, role_id, role in big.all_resources("AWS::IAM::Role"):
        assert compact(role["Properties"]["AssumeRolePolicyDocument"]) <= IAM_MAX_TRUST_POLICY_CHARS
        attached = [
            p
            for p in big.resources(stack, "AWS::IAM::Policy").values()
            if {"Ref": role_id} in p["Properties"]["Roles"]
        ]
        inline = sum(compact(p["Properties"]["PolicyDocument"]) for p in attached)
        assert 0 < inline <= IAM_MAX_ROLE_INLINE_POLICY_CHARS, role_id
        managed = [
            p
            for p in big.resources(stack, "AWS::IAM::ManagedPolicy").values()
            if {"Ref": role_id} in p["Properties"].get("Roles", [])
        ]
        # CDK moves statements past its inline budget into managed policies: each within IAM's 6,144
        # characters, at most 10 per role (the default quota)
        assert len(managed) <= IAM_MAX_MANAGED_POLICIES_PER_ROLE, role_id
        for policy in managed:
            assert compact(policy["Properties"]["PolicyDocument"]) <= IAM_MAX_MANAGED_POLICY_CHARS, role_id


def test_every_event_pattern_is_inside_eventbridge_limit(big: Big) -> None:
    """EventBridge's "Event pattern size" quota is 2,048 characters by default
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html): the 200 groups and endpoints
    are split over several rules, and every managed group and endpoint is in exactly one of them."""
    rules = big.resources("MlopsDeployer", "AWS::Events::Rule")
    patterns = [r["Properties"]["EventPattern"] for r in rules.values() if "EventPattern" in r["Properties"]]
    for _, _, rule in big.all_resources("AWS::Events::Rule"):
        pattern = rule["Properties"].get("EventPattern")
        if pattern is not None:
            assert len(json.dumps(pattern)) <= EVENTBRIDGE_MAX_PATTERN_CHARS
    groups = [g for p in patterns for g in p.get("detail", {}).get("ModelPackageGroupName", [])]
    endpoints = [e for p in patterns for e in p.get("detail", {}).get("EndpointName", [])]
    assert sorted(groups) == sorted({d.model_group for d in big.config.deployments})
    assert sorted(endpoints) == sorted({d.endpoint for d in big.config.deployments})
    assert len(patterns) > 2  # the names did not fit in one rule each
