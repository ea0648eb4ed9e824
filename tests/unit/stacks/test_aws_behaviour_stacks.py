"""Stacks as AWS really behaves (issue 10): blue/green progress events are subscribed and forwarded,
account-wide roles never move between stacks, the publisher's KMS use is pinned to S3."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from moto.events.models import EventPattern

from stacks.config import load_config
from stacks.constructs.names import publisher_role_name
from tests.unit.stacks.policy_helpers import actions_of, render
from tests.unit.stacks.synth import EXAMPLE_CONFIG, Synthesized, example, synthesize
from tests.unit.stacks.test_deployer_stacks import role_statements
from tests.unit.stacks.test_registry_security import role

EVENTS = Path(__file__).resolve().parents[2] / "events"
BOTH = ["SageMaker Endpoint State Change", "SageMaker Endpoint Deployment State Change"]


def rule_patterns(synth: Synthesized, stack: str) -> list[Any]:
    return [r["Properties"].get("EventPattern") for r in synth.resources(stack, "AWS::Events::Rule").values()]


def test_serving_accounts_forward_blue_green_progress_events_too() -> None:
    synth = example()
    (pattern,) = rule_patterns(synth, "MlopsServing-333333333333-eu-west-1")
    assert pattern == {
        "source": ["aws.sagemaker"],
        "detail-type": BOTH,
        "detail": {"EndpointName": ["fraud-detector-prod"]},
    }


def test_the_documented_deployment_state_change_event_matches_the_forwarding_and_deployer_rules() -> None:
    """The event as AWS documents it (tests/events/endpoint_deployment_state_change.json, from
    https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-deployment-state)
    carries detail.EndpointName, so the serving account forwards it and the registry's rule takes it."""
    event = json.loads((EVENTS / "endpoint_deployment_state_change.json").read_text())
    synth = example()
    (forward,) = rule_patterns(synth, "MlopsServing-333333333333-eu-west-1")
    registry = [
        p for p in rule_patterns(synth, "MlopsDeployer") if p and "EndpointName" in p.get("detail", {})
    ]
    assert registry, "the deployer's endpoint rule"
    for pattern in [forward, *registry]:
        assert EventPattern.load(json.dumps(pattern)).matches_event(event), pattern
    other = {**event, "detail": {**event["detail"], "EndpointName": "someone-elses-endpoint"}}
    assert not EventPattern.load(json.dumps(forward)).matches_event(other)


def role_names(synth: Synthesized, stack: str) -> set[str]:
    roles = synth.resources(stack, "AWS::IAM::Role").values()
    return {r["Properties"]["RoleName"] for r in roles if "RoleName" in r["Properties"]}


def test_account_roles_stay_in_the_registry_region_stack_when_the_account_gains_a_second_region() -> None:
    """IAM roles are account-wide: a second region's stack (sorted before the first) must not take them.
    The config refuses endpoints outside the registry's region today; the stack layout must not rely on it."""
    config = load_config(EXAMPLE_CONFIG)
    first = synthesize(config, nag=False)
    home = "MlopsServing-333333333333-eu-west-1"
    assert role_names(first, home) == {"mlops-fraud-serving", "mlops-deploy-access"}
    extra = dataclasses.replace(config.deployments[0], endpoint="fraud-detector-ap", region="ap-south-1")
    second = synthesize(dataclasses.replace(config, deployments=(*config.deployments, extra)), nag=False)
    assert role_names(second, home) == {"mlops-fraud-serving", "mlops-deploy-access"}
    assert role_names(second, "MlopsServing-333333333333-ap-south-1") == set()


def test_publisher_uses_the_artifact_key_only_through_s3_of_the_registry_region() -> None:
    _, statements = role(example(), publisher_role_name("fraud"))
    (kms,) = [s for s in statements if any(a.startswith("kms:") for a in actions_of(s))]
    assert kms["Effect"] == "Allow"
    assert actions_of(kms) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}


def test_rollback_alarm_permissions_are_one_prefix_statement() -> None:
    """The deployer makes each update's new-fleet alarms and deletes them; SageMaker reads them with the
    execution role. All under the mlops- prefix of the endpoint's account and region, whatever the
    number of endpoints."""
    synth = example()
    prefix = "arn:aws:cloudwatch:eu-west-1:333333333333:alarm:mlops-*"
    _, access = role(synth, "mlops-deploy-access")
    by_sid = {s.get("Sid"): s for s in access}
    assert actions_of(by_sid["RollbackAlarms"]) == [
        "cloudwatch:DeleteAlarms",
        "cloudwatch:PutMetricAlarm",
    ]
    assert render(by_sid["RollbackAlarms"]["Resource"]) == prefix
    assert [s for s in access if any(a.startswith("cloudwatch:") for a in actions_of(s))] == [
        by_sid["RollbackAlarms"]
    ]
    _, execution = role_statements(synth, "MlopsServing-333333333333-eu-west-1", "mlops-fraud-serving")
    (describe,) = [s for s in execution if "cloudwatch:DescribeAlarms" in actions_of(s)]
    assert render(describe["Resource"]) == prefix


def test_the_deployer_role_manages_rollback_alarms_of_registry_account_endpoints() -> None:
    _, statements = role_statements(example(), "MlopsDeployer", "mlops-deployer")
    (statement,) = [s for s in statements if any(a.startswith("cloudwatch:") for a in actions_of(s))]
    assert actions_of(statement) == ["cloudwatch:DeleteAlarms", "cloudwatch:PutMetricAlarm"]
    assert render(statement["Resource"]) == "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:mlops-*"
    assert any("sqs:SendMessage" in actions_of(s) for s in statements)  # the sweep's fan-out
