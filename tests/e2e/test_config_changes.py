"""End to end on the emulator, with the real CDK CLI: a team removed from the config and deployed keeps
its groups and versions; added back and deployed again, it is whole and every deploy is green.

The platform engineer's path (README 'Retire a team'): edit the config, `cdk synth` + `cdk deploy` of
every stack (synth records the retirement in the placements file, committed next to the config). The
team removed is `fraud`: it has a serving account, a stage approver and a pipeline, so the retirement
changes the artifact key's policy, the bucket policy and the team stack, not only the roles.

This module starts its own emulator (one deploy of the example, then two redeploys: a few minutes), so it
must run before the modules that share the session's emulator (`test_demo_flow`, `test_traffic`): a
fresh emulator resets moto's state. Its file name sorts it first.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from local import stack_deploy
from local.demo import GROUP, Scenario
from local.emulator.up import LocalAws
from stacks.constructs.names import approver_role_name, publisher_role_name
from stacks.constructs.team_roles import stage_approver_role_name
from tests.unit.stacks.synth import EXAMPLE_CONFIG

from .conftest import deployed_local_aws

pytestmark = pytest.mark.skipif(shutil.which("npx") is None, reason="the CDK CLI (npx) is not installed")

TEAM = "fraud"
TEAM_ROLES = (
    publisher_role_name(TEAM),
    approver_role_name(TEAM),
    stage_approver_role_name(TEAM, "Production"),
)


@pytest.fixture(scope="module")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    """The example config and its placements file in a directory of their own (the test edits them)."""
    directory = tmp_path_factory.mktemp("config")
    config = directory / "example.yaml"
    shutil.copy(EXAMPLE_CONFIG, config)
    shutil.copy(EXAMPLE_CONFIG.with_name("example.placements.json"), directory / "example.placements.json")
    with deployed_local_aws(config) as local:
        yield local


def redeploy(local: LocalAws, raw: dict[str, Any], out: str) -> None:
    """What the platform engineer runs after editing the config: cdk synth, then cdk deploy of every stack,
    account by account in the deploy order (the accounts are bootstrapped already); raises
    stack_deploy.DeployError with the CLI's output when a deploy fails."""
    local.config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert local.workdir is not None
    assembly = stack_deploy.synth(local.config_path, local.workdir / out, log=lambda message: None)
    for stage in assembly.stage(local.info["registry_account"]):
        for account in sorted({s.account for s in stage}):
            stacks = [s for s in stage if s.account == account]
            stack_deploy.deploy_stacks(
                local.url, local.credentials[account], assembly, stacks, log=lambda message: None
            )


def versions(local: LocalAws, group: str) -> list[str]:
    sm = local.session(local.info["registry_account"]).client("sagemaker", endpoint_url=local.url)
    listed = sm.list_model_packages(ModelPackageGroupName=group, SortOrder="Ascending")
    return [p["ModelPackageArn"] for p in listed["ModelPackageSummaryList"]]


def stack_statuses(local: LocalAws) -> dict[str, str]:
    statuses = {}
    for account in local.credentials:
        cfn = local.session(account).client("cloudformation", endpoint_url=local.url)
        for stack in cfn.describe_stacks()["Stacks"]:
            if stack["StackName"] != "CDKToolkit":
                statuses[f"{account}/{stack['StackName']}"] = stack["StackStatus"]
    return statuses


def test_removing_a_team_and_adding_it_back_keeps_its_versions(local_aws: LocalAws) -> None:
    scenario = Scenario(local_aws.info, say=lambda message: None)
    registered = [scenario.register("v1"), scenario.register("v2")]
    assert versions(local_aws, GROUP) == registered
    registry = local_aws.info["registry_account"]
    iam = local_aws.session(registry).client("iam", endpoint_url=local_aws.url)
    cfn = local_aws.session(registry).client("cloudformation", endpoint_url=local_aws.url)
    record = local_aws.config_path.with_name("example.placements.json")

    original = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    without = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    del without["teams"][TEAM]
    del without["deployments"]["fraud-detector-prod"]
    redeploy(local_aws, without, "cdk.out.retired")

    assert versions(local_aws, GROUP) == registered  # the group and its versions stayed
    assert json.loads(record.read_text())["teams"][TEAM] == {
        "stack": 0,
        "groups": [],
        "retired_groups": ["fraud-detector", "fraud-explainer"],
        "retired": True,
    }
    for role in TEAM_ROLES:  # the team's access is gone
        with pytest.raises(ClientError, match="NoSuchEntity"):
            iam.get_role(RoleName=role)
    groups = cfn.describe_stack_resources(StackName="MlopsRegistryTeams0")["StackResources"]
    assert sorted(
        r["PhysicalResourceId"].rsplit("/", 1)[-1]
        for r in groups
        if r["ResourceType"] == "AWS::SageMaker::ModelPackageGroup"
    ) == ["fraud-detector", "fraud-explainer", "recommender"]
    retired = stack_statuses(local_aws)
    assert all(s in ("CREATE_COMPLETE", "UPDATE_COMPLETE") for s in retired.values()), retired

    redeploy(local_aws, original, "cdk.out.back")

    assert versions(local_aws, GROUP) == registered
    for role in TEAM_ROLES:  # the team's roles are back
        assert iam.get_role(RoleName=role)["Role"]["RoleName"] == role
    back = stack_statuses(local_aws)
    assert back[f"{registry}/MlopsRegistryTeams0"] == "UPDATE_COMPLETE"
    assert back[f"{registry}/MlopsRegistry"] == "UPDATE_COMPLETE"  # the key and bucket policies changed twice
    assert all(s in ("CREATE_COMPLETE", "UPDATE_COMPLETE") for s in back.values()), back
    assert json.loads(record.read_text()) == json.loads(
        EXAMPLE_CONFIG.with_name("example.placements.json").read_text()
    )
    # the team works again: its publisher (assumed from the team's account) registers a third version
    third = Scenario(local_aws.info, say=lambda message: None).register("v3")
    assert versions(local_aws, GROUP) == [*registered, third]
