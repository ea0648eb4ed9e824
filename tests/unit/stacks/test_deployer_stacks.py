"""The deployer's infrastructure: triggers, queue, ledger, function settings, serving-account access."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack

from stacks.config import load_config
from stacks.deployer_stack import deployment_spec, retired_spec
from tests.unit.stacks.policy_helpers import actions_of, principals_of, render, resources_of
from tests.unit.stacks.synth import EXAMPLE_CONFIG, Synthesized, example, synthesize

SERVING = "MlopsServing-333333333333-eu-west-1"
LOCAL_SERVING = "MlopsServing-111111111111-eu-west-1"


@pytest.fixture(scope="module")
def synth() -> Synthesized:
    return example()


def one(synth: Synthesized, stack: str, type_: str, **props: Any) -> dict[str, Any]:
    found = [
        r
        for r in synth.resources(stack, type_).values()
        if all(r["Properties"].get(k) == v for k, v in props.items())
    ]
    assert len(found) == 1, (type_, props, len(found))
    return found[0]


def logical_id(synth: Synthesized, stack: str, type_: str, **props: Any) -> str:
    resource = one(synth, stack, type_, **props)
    return next(k for k, v in synth.templates[stack]["Resources"].items() if v is resource)


def test_every_trigger_targets_the_deployer_queue(synth: Synthesized) -> None:
    queue_id = logical_id(synth, "MlopsDeployer", "AWS::SQS::Queue", QueueName="mlops-deployer")
    rules = synth.resources("MlopsDeployer", "AWS::Events::Rule")
    assert len(rules) == 3
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    patterns = [r["Properties"].get("EventPattern") for r in rules.values()]
    assert {
        "source": ["aws.sagemaker"],
        "account": ["111111111111"],  # only the registry's own versions (issue 9, finding 8)
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": ["fraud-detector", "recommender"]},
    } in patterns
    assert {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Endpoint State Change", "SageMaker Endpoint Deployment State Change"],
        "detail": {"EndpointName": ["fraud-detector-prod", "recommender-prod"]},
    } in patterns
    schedules = [r["Properties"].get("ScheduleExpression") for r in rules.values()]
    assert "rate(10 minutes)" in schedules


def test_queue_has_dlq_with_alarm_and_function_reports_partial_failures(synth: Synthesized) -> None:
    dlq_id = logical_id(synth, "MlopsDeployer", "AWS::SQS::Queue", QueueName="mlops-deployer-dlq")
    queue = one(synth, "MlopsDeployer", "AWS::SQS::Queue", QueueName="mlops-deployer")
    assert queue["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert queue["Properties"]["VisibilityTimeout"] == 360  # six times the function timeout
    alarm = one(synth, "MlopsDeployer", "AWS::CloudWatch::Alarm", AlarmName="mlops-deployer-dead-letters")
    assert alarm["Properties"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
    ]
    assert len(alarm["Properties"]["AlarmActions"]) == 1
    (mapping,) = synth.resources("MlopsDeployer", "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    one(synth, "MlopsDeployer", "AWS::CloudWatch::Alarm", AlarmName="mlops-deployer-errors")


def test_function_ships_lambdas_dir_and_carries_the_deployments(synth: Synthesized) -> None:
    function = one(synth, "MlopsDeployer", "AWS::Lambda::Function", FunctionName="mlops-deployer")
    props = function["Properties"]
    assert props["Handler"] == "deployer.handler.handler"
    env = props["Environment"]["Variables"]
    assert env["REGISTRY_ACCOUNT"] == "111111111111"
    assert env["DEPLOYMENTS_FILE"] == "deployments.json"
    asset = (
        synth.template_paths["MlopsDeployer"].parent / f"asset.{props['Code']['S3Key'].removesuffix('.zip')}"
    )
    assert (asset / "deployer" / "handler.py").is_file()
    assert not list(asset.rglob("__pycache__"))
    deployments = {d["endpoint"]: d for d in json.loads((asset / "deployments.json").read_text())}
    prod = deployments["fraud-detector-prod"]
    assert prod == {
        "endpoint": "fraud-detector-prod",
        "group": "fraud-detector",
        "group_arn": "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/fraud-detector",
        "account": "333333333333",
        "region": "eu-west-1",
        "follows": "Approved",
        "instance_type": "ml.m5.large",
        "instance_count": 2,
        "rollout": {"strategy": "canary", "step_percent": 25, "wait_seconds": 300, "bake_seconds": 600},
        "alarms": ["mlops-fraud-detector-prod-5xx", "mlops-fraud-detector-prod-latency"],
        "execution_role_arn": "arn:aws:iam::333333333333:role/mlops-fraud-serving",  # the owning team's
        "deploy_role_arn": "arn:aws:iam::333333333333:role/mlops-deploy-access",
        # the owning team's account, the registry account and SageMaker's own images in eu-west-1 (issue 9)
        "admission": {
            "allowed_image_accounts": ["111111111111", "141502667606", "222222222222"],
            "require_image_digest": False,
            "model_data_prefix": "s3://mlops-artifacts-111111111111-eu-west-1/fraud/",
        },
        "network_isolation": True,
    }
    assert deployments["recommender-prod"]["deploy_role_arn"] is None
    assert deployments["recommender-prod"]["follows"] == "Production"


def role_statements(
    synth: Synthesized, stack: str, role_name: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    role_id = logical_id(synth, stack, "AWS::IAM::Role", RoleName=role_name)
    role = synth.templates[stack]["Resources"][role_id]
    statements = [
        s
        for p in synth.resources(stack, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    return role["Properties"], statements


def test_deployer_assumes_only_serving_deploy_access_roles(synth: Synthesized) -> None:
    _, statements = role_statements(synth, "MlopsDeployer", "mlops-deployer")
    assume = [s for s in statements if "sts:AssumeRole" in actions_of(s)]
    assert len(assume) == 1
    # the role name is exact; the account is any account of the organization (constant size, README
    # "Deployer role"), and each deploy-access role trusts only the deployer
    assert resources_of(assume[0]) == ["arn:aws:iam::*:role/mlops-deploy-access"]
    assert assume[0]["Condition"] == {"StringEquals": {"aws:ResourceOrgID": "o-a1b2c3d4e5"}}
    ledger = [s for s in statements if any(a.startswith("dynamodb:") for a in actions_of(s))]
    assert [actions_of(s) for s in ledger] == [["dynamodb:PutItem", "dynamodb:Query"]]
    # registry-account endpoint: the deployer manages it with its own role, passing only the teams'
    # execution roles (by their name pattern: constant in size whatever the number of teams)
    passrole = next(s for s in statements if actions_of(s) == ["iam:PassRole"])
    assert resources_of(passrole) == ["arn:aws:iam::111111111111:role/mlops-*-serving"]
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    # constant-size: endpoints of the registry account are updated only if the deployer created them (tag)
    update = next(s for s in statements if s.get("Sid") == "UpdateManagedEndpoints")
    assert actions_of(update) == ["sagemaker:UpdateEndpoint"]
    assert resources_of(update) == ["arn:aws:sagemaker:eu-west-1:111111111111:endpoint/*"]
    assert update["Condition"] == {"StringEquals": {"aws:ResourceTag/mlops:managed-by": "mlops-deployer"}}
    creates = next(s for s in statements if s.get("Sid") == "CreateTaggedModels")
    assert creates["Condition"] == {"Null": {"aws:RequestTag/mlops:endpoint": "false"}}


def test_deploy_access_role_trusts_only_the_deployer_and_manages_only_its_endpoints(
    synth: Synthesized,
) -> None:
    props, statements = role_statements(synth, SERVING, "mlops-deploy-access")
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert principals_of(trust) == ["arn:aws:iam::111111111111:root"]
    assert trust["Condition"]["ArnEquals"] == {
        "aws:PrincipalArn": "arn:aws:iam::111111111111:role/mlops-deployer"
    }
    assert trust["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}
    passrole = next(s for s in statements if actions_of(s) == ["iam:PassRole"])
    # only the execution roles of the teams served here (fraud's): never another role of the account
    execution_id = logical_id(synth, SERVING, "AWS::IAM::Role", RoleName="mlops-fraud-serving")
    assert resources_of(passrole) == [f"<getatt:{execution_id}.Arn>"]
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    update = next(s for s in statements if "sagemaker:UpdateEndpoint" in actions_of(s))
    assert resources_of(update) == sorted(
        [
            "arn:aws:sagemaker:eu-west-1:333333333333:endpoint/fraud-detector-prod",
            "arn:aws:sagemaker:eu-west-1:333333333333:endpoint-config/fraud-detector-prod-*",
        ]
    )
    create_model = next(s for s in statements if "sagemaker:CreateModel" in actions_of(s))
    assert "arn:aws:sagemaker:eu-west-1:111111111111:model-package/fraud-detector/*" in resources_of(
        create_model
    )


def team_execution_role(synth: Synthesized, stack: str, team: str) -> tuple[dict[str, Any], dict[str, Any]]:
    props, statements = role_statements(synth, stack, f"mlops-{team}-serving")
    return props, {s["Sid"]: s for s in statements}


def test_each_team_served_has_its_own_execution_role_reading_only_its_prefix(synth: Synthesized) -> None:
    """Serving account 333333333333 serves fraud only; the registry account serves recsys only."""
    assert {
        r["Properties"]["RoleName"]
        for r in synth.resources(SERVING, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName", "").endswith("-serving")
    } == {"mlops-fraud-serving"}
    props, by_sid = team_execution_role(synth, SERVING, "fraud")
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert {"Key": "mlops:team", "Value": "fraud"} in props["Tags"]  # the bucket policy's prefix variable
    assert resources_of(by_sid["ReadTeamArtifacts"]) == [
        "arn:aws:s3:::mlops-artifacts-111111111111-eu-west-1/fraud/*"
    ]
    assert by_sid["DecryptTeamArtifacts"]["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/mlops-artifacts"},
        "StringEquals": {
            "kms:ViaService": "s3.eu-west-1.amazonaws.com",
            "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::mlops-artifacts-111111111111-eu-west-1",
        },
    }
    # the project's alarm-name prefix: one ARN whatever the endpoints (each update's new-fleet alarms are
    # named after its new endpoint config, lambdas/deployer/rollback_alarms.py)
    assert resources_of(by_sid["DescribeRollbackAlarms"]) == [
        "arn:aws:cloudwatch:eu-west-1:333333333333:alarm:mlops-*"
    ]
    _, recsys = team_execution_role(synth, LOCAL_SERVING, "recsys")
    assert resources_of(recsys["ReadTeamArtifacts"]) == [
        "arn:aws:s3:::mlops-artifacts-111111111111-eu-west-1/recsys/*"
    ]


def test_execution_roles_pull_only_from_the_allowed_image_accounts(synth: Synthesized) -> None:
    """The accounts the deployer admits for the team (deployer_stack.image_accounts): the team's own
    account, the registry account and SageMaker's image account of eu-west-1; nothing else."""
    _, fraud = team_execution_role(synth, SERVING, "fraud")
    assert actions_of(fraud["PullAllowedImages"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert resources_of(fraud["PullAllowedImages"]) == [
        "arn:aws:ecr:eu-west-1:111111111111:repository/*",
        "arn:aws:ecr:eu-west-1:141502667606:repository/*",
        "arn:aws:ecr:eu-west-1:222222222222:repository/*",
    ]
    _, recsys = team_execution_role(synth, LOCAL_SERVING, "recsys")
    assert resources_of(recsys["PullAllowedImages"]) == [
        "arn:aws:ecr:eu-west-1:111111111111:repository/*",
        "arn:aws:ecr:eu-west-1:141502667606:repository/*",
        "arn:aws:ecr:eu-west-1:555555555555:repository/*",
    ]


def test_configured_image_accounts_replace_the_default_pulls() -> None:
    config = load_config(EXAMPLE_CONFIG)
    narrowed = dataclasses.replace(
        config, registry=dataclasses.replace(config.registry, allowed_image_accounts=("777777777777",))
    )
    synth = synthesize(narrowed, nag=False)
    _, fraud = team_execution_role(synth, SERVING, "fraud")
    assert resources_of(fraud["PullAllowedImages"]) == ["arn:aws:ecr:eu-west-1:777777777777:repository/*"]


def test_rollback_alarms_watch_the_endpoint_variant(synth: Synthesized) -> None:
    errors = one(synth, SERVING, "AWS::CloudWatch::Alarm", AlarmName="mlops-fraud-detector-prod-5xx")
    assert errors["Properties"]["MetricName"] == "Invocation5XXErrors"
    assert {"Name": "EndpointName", "Value": "fraud-detector-prod"} in errors["Properties"]["Dimensions"]
    latency = one(synth, SERVING, "AWS::CloudWatch::Alarm", AlarmName="mlops-fraud-detector-prod-latency")
    assert latency["Properties"]["MetricName"] == "ModelLatency"
    one(synth, LOCAL_SERVING, "AWS::CloudWatch::Alarm", AlarmName="mlops-recommender-prod-5xx")


def test_serving_account_forwards_endpoint_events_and_registry_admits_its_organization(
    synth: Synthesized,
) -> None:
    (rule,) = synth.resources(SERVING, "AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"]["detail"] == {"EndpointName": ["fraud-detector-prod"]}
    (target,) = rule["Properties"]["Targets"]
    assert render(target["Arn"]) == "arn:aws:events:eu-west-1:111111111111:event-bus/default"
    policies = synth.resources("MlopsDeployer", "AWS::Events::EventBusPolicy")
    # one constant-size statement, whatever the number of serving accounts: the organization may forward
    (policy,) = policies.values()
    statement = policy["Properties"]["Statement"]
    assert statement["Principal"] == {"AWS": "*"} and statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    assert not synth.resources(LOCAL_SERVING, "AWS::Events::Rule")  # the registry bus sees those directly
    assert not [
        r
        for r in synth.resources(LOCAL_SERVING, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == "mlops-deploy-access"
    ]


def test_ledger_is_keyed_for_point_in_time_queries_and_retained(synth: Synthesized) -> None:
    table = one(synth, "MlopsDeployer", "AWS::DynamoDB::GlobalTable", TableName="mlops-deployment-ledger")
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "endpoint_id", "KeyType": "HASH"},
        {"AttributeName": "at", "KeyType": "RANGE"},
    ]
    assert table["DeletionPolicy"] == "Retain"
    (replica,) = props["Replicas"]
    assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert replica["DeletionProtectionEnabled"] is True


def test_operations_dashboard_shows_queue_dead_letters_function_and_alarms(synth: Synthesized) -> None:
    dashboard = one(synth, "MlopsDeployer", "AWS::CloudWatch::Dashboard", DashboardName="mlops-deployments")
    body = render(dashboard["Properties"]["DashboardBody"])
    dlq = logical_id(synth, "MlopsDeployer", "AWS::SQS::Queue", QueueName="mlops-deployer-dlq")
    for needle in (
        f"<getatt:{dlq}.QueueName>",
        "ApproximateAgeOfOldestMessage",
        "Errors",
        "Duration",
        "alarms",
    ):
        assert needle in body, needle
    dlq_alarm = logical_id(
        synth, "MlopsDeployer", "AWS::CloudWatch::Alarm", AlarmName="mlops-deployer-dead-letters"
    )
    assert f"<getatt:{dlq_alarm}.Arn>" in body


def test_the_deployments_shipped_in_the_deployer_code_hold_concrete_arns() -> None:
    """The deployments file is plain JSON in the code package: nothing resolves CloudFormation tokens
    there, so an ARN built with `stack.partition` would reach sts:AssumeRole as `arn:${Token[...]}`, and
    its token number would change the code hash at every synth."""
    config = load_config(EXAMPLE_CONFIG)
    stack = Stack(
        App(), "Deployer", env=Environment(account=config.registry.account, region=config.registry.region)
    )
    specs = [deployment_spec(stack, config, d) for d in config.deployments]
    text = json.dumps(specs + [retired_spec(stack, config, r) for r in config.retired])
    assert "${Token" not in text
    prod = specs[0]
    assert prod["group_arn"] == "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/fraud-detector"
    assert prod["deploy_role_arn"] == "arn:aws:iam::333333333333:role/mlops-deploy-access"
    assert prod["execution_role_arn"] == "arn:aws:iam::333333333333:role/mlops-fraud-serving"
