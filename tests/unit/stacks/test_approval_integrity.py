"""Issue 9 in the synthesized templates and the config: who may register, approve and stage what."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from stacks.config import ConfigError, parse_config
from stacks.constructs.names import approver_role_name
from tests.unit.stacks.policy_helpers import actions_of, resources_of
from tests.unit.stacks.synth import EXAMPLE_CONFIG, Synthesized, example, synthesize

BASE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text())
REGISTRY = "111111111111"
VERSIONS = f"arn:aws:sagemaker:eu-west-1:{REGISTRY}:model-package/fraud-detector/*"
NO_STAGE = {"sagemaker:ModelLifeCycle:Stage": "true", "sagemaker:ModelLifeCycle:StageStatus": "true"}


@pytest.fixture(scope="module")
def synth() -> Synthesized:
    return example()


def roles_named(synth: Synthesized) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    found = {}
    for stack, logical_id, resource in synth.all_resources("AWS::IAM::Role"):
        name = resource["Properties"].get("RoleName")
        if not isinstance(name, str):
            continue
        statements = [
            s
            for policy in synth.resources(stack, "AWS::IAM::Policy").values()
            if {"Ref": logical_id} in policy["Properties"]["Roles"]
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        found[name] = (resource["Properties"], statements)
    return found


def test_every_create_model_package_grant_forbids_a_lifecycle_stage(synth: Synthesized) -> None:
    """Finding 1: publisher role, pipeline role and group resource policies alike."""
    grants = []
    for _, (_, statements) in roles_named(synth).items():
        grants += [s for s in statements if "sagemaker:CreateModelPackage" in actions_of(s)]
    for _, _, group in synth.all_resources("AWS::SageMaker::ModelPackageGroup"):
        policy = group["Properties"].get("ModelPackageGroupPolicy") or {"Statement": []}
        grants += [s for s in policy["Statement"] if "sagemaker:CreateModelPackage" in actions_of(s)]
    assert len(grants) >= 4  # 2 publishers, the fraud pipeline role, the cross-account group grants
    for grant in grants:
        assert grant["Effect"] == "Allow"
        assert grant["Condition"]["Null"] == NO_STAGE, grant
        assert grant["Condition"]["StringEquals"]["sagemaker:ModelApprovalStatus"] == "PendingManualApproval"


def test_the_team_approver_may_not_set_a_stage_that_has_its_own_approvers(synth: Synthesized) -> None:
    _, statements = roles_named(synth)[approver_role_name("fraud")]
    (update,) = [s for s in statements if "sagemaker:UpdateModelPackage" in actions_of(s)]
    assert update["Condition"] == {
        "StringNotEqualsIfExists": {"sagemaker:ModelLifeCycle:Stage": ["Production"]}
    }
    _, recsys = roles_named(synth)[approver_role_name("recsys")]
    (update,) = [s for s in recsys if "sagemaker:UpdateModelPackage" in actions_of(s)]
    assert "Condition" not in update  # recsys configures no stage approvers


def test_the_stage_approver_role_sets_only_its_stage_and_never_approves(synth: Synthesized) -> None:
    properties, statements = roles_named(synth)["mlops-fraud-Production-approver"]
    (trust,) = properties["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::333333333333:root"}
    assert trust["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    writes = [
        s
        for s in statements
        if any(not a.split(":")[1].startswith(("Describe", "List", "BatchDescribe")) for a in actions_of(s))
    ]
    (update,) = [s for s in writes if "sagemaker:UpdateModelPackage" in actions_of(s)]
    assert actions_of(update) == ["sagemaker:UpdateModelPackage"]
    assert resources_of(update) == [VERSIONS, VERSIONS.replace("fraud-detector", "fraud-explainer")]
    assert update["Condition"] == {
        "StringEquals": {"sagemaker:ModelLifeCycle:Stage": "Production"},
        "Null": {"sagemaker:ModelApprovalStatus": "true"},
    }


def separation_warnings(synth: Synthesized) -> list[str]:
    return [
        text
        for messages in synth.messages.values()
        for level, _, text in messages
        if level.lower() == "warning" and "SeparationOfDuties" in text
    ]


def test_same_account_approval_warns_unless_principals_narrow_it() -> None:
    """Finding 4: recsys approves from its own account; without principals nothing separates the duties."""
    raw = copy.deepcopy(BASE)
    for key in ("publisher_principals", "approver_principals"):
        raw["teams"]["recsys"].pop(key)
    (warning,) = separation_warnings(synthesize(parse_config(raw), nag=False))
    assert "team recsys" in warning and "555555555555" in warning
    assert "teams.recsys.approver_principals" in warning

    raw["teams"]["recsys"]["publisher_principals"] = ["arn:aws:iam::555555555555:role/recsys-scientists-*"]
    (warning,) = separation_warnings(synthesize(parse_config(raw), nag=False))  # the approver is what counts
    assert "team recsys" in warning


def test_the_example_narrows_recsys_to_its_two_person_roles(synth: Synthesized) -> None:
    """config/example.yaml separates recsys's duties with principals, so it synthesizes without the warning."""
    assert separation_warnings(synth) == []
    roles = roles_named(synth)
    for role, pattern in (
        ("mlops-recsys-approver", "arn:aws:iam::555555555555:role/recsys-release-manager*"),
        ("mlops-recsys-publisher", "arn:aws:iam::555555555555:role/recsys-data-scientist*"),
    ):
        (trust,) = roles[role][0]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"AWS": "arn:aws:iam::555555555555:root"}
        assert trust["Condition"] == {
            "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
            "ArnLike": {"aws:PrincipalArn": [pattern]},
        }


def with_team(team: str, key: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    raw["teams"][team][key] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "key", "value", "allowed"),
    [
        (
            with_team("fraud", "stage_approvers", {"Production": ["999999999999"]}),
            "teams.fraud.stage_approvers.Production[0]",
            "999999999999",
            "an account of this config",
        ),
        (
            with_team("fraud", "stage_approvers", {"Production": ["arn:aws:iam::999999999999:role/release"]}),
            "teams.fraud.stage_approvers.Production[0]",
            "arn:aws:iam::999999999999:role/release",
            "an account of this config",
        ),
        (
            with_team("fraud", "stage_approvers", {"Production": ["arn:aws:iam:111111111111:role/x"]}),
            "teams.fraud.stage_approvers.Production[0]",
            "arn:aws:iam:111111111111:role/x",
            "an IAM principal ARN pattern",
        ),
        (
            with_team("fraud", "stage_approvers", {"Prod": ["111111111111"]}),
            "teams.fraud.stage_approvers.Prod",
            "Prod",
            "a stage of registry.stages",
        ),
        (
            with_team("fraud", "stage_approvers", {"Prod_1": ["111111111111"]}),
            "teams.fraud.stage_approvers.Prod_1",
            "Prod_1",
            "lifecycle stage name",
        ),
        (
            with_team("recsys", "approver_principals", ["arn:aws:iam::555555555555:group/admins"]),
            "teams.recsys.approver_principals[0]",
            "arn:aws:iam::555555555555:group/admins",
            "an IAM principal ARN pattern",
        ),
        (
            with_team("recsys", "publisher_principals", ["arn:aws:iam::222222222222:role/ds-*"]),
            "teams.recsys.publisher_principals[0]",
            "arn:aws:iam::222222222222:role/ds-*",
            "a principal of account 555555555555",
        ),
        (
            {**copy.deepcopy(BASE), "registry": {**BASE["registry"], "allowed_image_accounts": ["12345"]}},
            "registry.allowed_image_accounts[0]",
            "12345",
            "exactly 12 digits",
        ),
        (
            {**copy.deepcopy(BASE), "registry": {**BASE["registry"], "require_image_digest": "yes"}},
            "registry.require_image_digest",
            "yes",
            "true or false",
        ),
    ],
)
def test_bad_security_config_names_the_key_and_the_value(
    raw: Any, key: str, value: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.path == key
    assert f"'{key}': {value!r}" in str(caught.value)
    assert allowed in str(caught.value)


def test_the_deployer_function_can_write_its_own_logs_and_no_others(synth: Synthesized) -> None:
    """Finding 9: the role has no managed policy, so the log permissions must be in its own policy."""
    stack = "MlopsDeployer"
    resources = synth.templates[stack]["Resources"]
    (role_id,) = [
        k
        for k, v in resources.items()
        if v["Type"] == "AWS::IAM::Role" and v["Properties"].get("RoleName") == "mlops-deployer"
    ]
    assert "ManagedPolicyArns" not in resources[role_id]["Properties"]
    (function,) = [v for v in resources.values() if v["Type"] == "AWS::Lambda::Function"]
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert resources[log_group_id]["Properties"]["LogGroupName"] == "/aws/lambda/mlops-deployer"
    statements = [
        s
        for p in synth.resources(stack, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    logs = [s for s in statements if any(a.startswith("logs:") for a in actions_of(s))]
    assert len(logs) == 1
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= set(actions_of(logs[0]))
    assert logs[0]["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
