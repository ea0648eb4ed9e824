"""The team-account stack: the pipeline resource, its filled-in definition and exact least-privilege IAM.

One app with two team stacks (with and without a schedule) is synthesized once for the module, with the
project's feature flags and cdk-nag, the way `cdk synth` builds them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from policy_sentry.querying.actions import (
    get_actions_for_service,
    get_actions_that_support_wildcard_arns_only,
)

from stacks.team_pipeline_stack import TeamPipelineStack
from tests.unit.stacks.synth import cdk_context

TEAM_ACCOUNT = "222222222222"
REGISTRY_ACCOUNT = "111111111111"
REGION = "eu-west-1"
GROUP_ARN = f"arn:aws:sagemaker:{REGION}:{REGISTRY_ACCOUNT}:model-package-group/fraud-detector"
BUCKET = f"mlops-artifacts-{REGISTRY_ACCOUNT}-{REGION}"
KEY_ARN = f"arn:aws:kms:{REGION}:{REGISTRY_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
XGBOOST_IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"

ARGS: dict[str, Any] = {
    "model_package_group_arn": GROUP_ARN,
    "artifact_bucket_name": BUCKET,
    "artifact_kms_key_arn": KEY_ARN,
}


def _stack(app: cdk.App, team: str, **extra: Any) -> TeamPipelineStack:
    return TeamPipelineStack(
        app,
        f"MlopsPipeline-{team}",
        team=team,
        **ARGS,
        **extra,
        env=cdk.Environment(account=TEAM_ACCOUNT, region=REGION),
    )


@pytest.fixture(scope="module")
def app() -> tuple[cdk.App, TeamPipelineStack, TeamPipelineStack]:
    app = cdk.App(context=cdk_context())
    scheduled = _stack(
        app,
        "fraud",
        training_instance_type="ml.m5.2xlarge",
        evaluation_instance_type="ml.t3.medium",
        metric_threshold=0.85,
        schedule="cron(0 3 ? * MON *)",
    )
    plain = _stack(app, "churn")
    cdk.Aspects.of(app).add(AwsSolutionsChecks())
    app.synth()
    return app, scheduled, plain


@pytest.fixture(scope="module")
def template(app: tuple[cdk.App, TeamPipelineStack, TeamPipelineStack]) -> Template:
    return Template.from_stack(app[1])


@pytest.fixture(scope="module")
def plain(app: tuple[cdk.App, TeamPipelineStack, TeamPipelineStack]) -> Template:
    return Template.from_stack(app[2])


def _one(template: Template, type_: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = template.find_resources(type_).items()
    return logical_id, dict(resource)


def _logical_id(template: Template, type_: str, path_part: str) -> str:
    found = [k for k in template.find_resources(type_) if path_part in k]
    assert len(found) == 1, found
    return found[0]


def _flatten(value: Any) -> str:
    """A resolved string: Fn::Join parts concatenated, references as <Ref:Id> / <Id.Attr>."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_flatten(p) for p in parts)
    if "Ref" in value:
        return f"<Ref:{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise AssertionError(f"unexpected intrinsic {value}")


def _definition(template: Template) -> dict[str, Any]:
    _, pipeline = _one(template, "AWS::SageMaker::Pipeline")
    body: dict[str, Any] = json.loads(
        _flatten(pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"])
    )
    return body


def _statements(template: Template, role_id: str) -> list[dict[str, Any]]:
    policies = [
        p
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    assert len(policies) == 1
    statements: list[dict[str, Any]] = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _normalised(statement: dict[str, Any]) -> dict[str, Any]:
    def many(value: Any) -> list[str]:
        return sorted(_flatten(v) for v in (value if isinstance(value, list) else [value]))

    out = {"Sid": statement["Sid"], "Effect": statement["Effect"], "Action": many(statement["Action"])}
    out["Resource"] = many(statement["Resource"])
    if "Condition" in statement:
        out["Condition"] = statement["Condition"]
    return out


def test_pipeline_is_named_for_the_team_and_runs_as_its_role(template: Template) -> None:
    role_id = _logical_id(template, "AWS::IAM::Role", "ExecutionRole")
    template.has_resource_properties(
        "AWS::SageMaker::Pipeline",
        {"PipelineName": "mlops-fraud", "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]}},
    )
    policy_id = _logical_id(template, "AWS::IAM::Policy", "ExecutionRoleDefaultPolicy")
    # the pipeline waits for its role's policy; the role itself is implied by the GetAtt (cfn-lint W3005)
    template.has_resource("AWS::SageMaker::Pipeline", {"DependsOn": [policy_id]})


def test_definition_is_filled_in_for_the_team(template: Template) -> None:
    definition = _definition(template)
    text = json.dumps(definition)
    assert "@@" not in text
    role_id = _logical_id(template, "AWS::IAM::Role", "ExecutionRole")
    train, evaluate, check = definition["Steps"]
    assert train["Arguments"]["RoleArn"] == evaluate["Arguments"]["RoleArn"] == f"<{role_id}.Arn>"
    assert train["Arguments"]["AlgorithmSpecification"]["TrainingImage"] == XGBOOST_IMAGE
    bucket_id = _logical_id(template, "AWS::S3::Bucket", "DataBucket")
    # job outputs go to the team's own bucket: the central bucket is write-once (If-None-Match only)
    assert train["Arguments"]["OutputDataConfig"] == {
        "S3OutputPath": f"s3://<Ref:{bucket_id}>/models",
        "KmsKeyId": KEY_ARN,
    }
    code = next(i for i in evaluate["Arguments"]["ProcessingInputs"] if i["InputName"] == "code")
    assert re.fullmatch(
        rf"s3://cdk-[a-z0-9]+-assets-{TEAM_ACCOUNT}-{REGION}/[0-9a-f]{{64}}\.py", code["S3Input"]["S3Uri"]
    )
    entry = evaluate["Arguments"]["AppSpecification"]["ContainerEntrypoint"][1]
    assert entry.rsplit("/", 1)[1] == code["S3Input"]["S3Uri"].rsplit("/", 1)[1]
    release, register_step = check["Arguments"]["IfSteps"]
    assert release["Name"] == "Release" and register_step["DependsOn"] == ["Release"]
    assert release["Arguments"]["AppSpecification"]["ContainerArguments"] == [
        "--destination",
        {
            "Std:Join": {
                "On": "/",
                "Values": [f"s3://{BUCKET}/fraud/releases", {"Get": "Execution.PipelineExecutionId"}],
            }
        },
    ]
    release_code = next(i for i in release["Arguments"]["ProcessingInputs"] if i["InputName"] == "code")
    assert release_code["S3Input"]["S3Uri"] != code["S3Input"]["S3Uri"]
    register = register_step["Arguments"]
    assert register["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                f"s3://{BUCKET}/fraud/releases",
                {"Get": "Execution.PipelineExecutionId"},
                "model.tar.gz",
            ],
        }
    }
    assert register["ModelPackageGroupName"] == GROUP_ARN
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["InferenceSpecification"]["Containers"][0]["Image"] == XGBOOST_IMAGE


def test_parameter_defaults_come_from_the_constructor(template: Template, plain: Template) -> None:
    bucket_id = _logical_id(template, "AWS::S3::Bucket", "DataBucket")
    defaults = {p["Name"]: p["DefaultValue"] for p in _definition(template)["Parameters"]}
    assert defaults == {
        "InputDataUrl": f"s3://<Ref:{bucket_id}>/input",
        "TrainingInstanceType": "ml.m5.2xlarge",
        "EvaluationInstanceType": "ml.t3.medium",
        "MetricThreshold": 0.85,
    }
    plain_defaults = {p["Name"]: p["DefaultValue"] for p in _definition(plain)["Parameters"]}
    assert plain_defaults["MetricThreshold"] == 0.8
    assert plain_defaults["TrainingInstanceType"] == "ml.m5.xlarge"


def test_execution_role_trusts_only_sagemaker_and_has_a_stable_name(template: Template) -> None:
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "mlops-fraud-pipeline",
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                    }
                ],
                "Version": "2012-10-17",
            },
            "ManagedPolicyArns": Match.absent(),
            "Policies": Match.absent(),
        },
    )


def test_execution_role_policy_is_exactly_least_privilege(template: Template) -> None:
    role_id = _logical_id(template, "AWS::IAM::Role", "ExecutionRole")
    bucket_id = _logical_id(template, "AWS::S3::Bucket", "DataBucket")
    partition = "aws"
    sm = f"arn:{partition}:sagemaker:{REGION}:{TEAM_ACCOUNT}"
    logs = f"arn:{partition}:logs:{REGION}:{TEAM_ACCOUNT}:log-group:/aws/sagemaker"
    statements = [_normalised(s) for s in _statements(template, role_id)]
    code_object = next(s for s in statements if s["Sid"] == "ReadEvaluationScript")["Resource"][0]
    assets_bucket, code_key = re.fullmatch(r"arn:aws:s3:::([^/]+)/(.+\.py)", code_object).groups()  # type: ignore[union-attr]
    release_object = next(s for s in statements if s["Sid"] == "ReadReleaseScript")["Resource"][0]
    release_key = release_object.rsplit("/", 1)[1]
    assert release_key != code_key
    assert statements == [
        {
            "Sid": "RunTrainingJobs",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
            ],
            "Resource": [f"{sm}:training-job/pipelines-*"],
        },
        {
            "Sid": "RunProcessingJobs",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
            ],
            "Resource": [f"{sm}:processing-job/pipelines-*"],
        },
        {
            "Sid": "TagJobsOnCreate",
            "Effect": "Allow",
            "Action": ["sagemaker:AddTags"],
            "Resource": [f"{sm}:processing-job/pipelines-*", f"{sm}:training-job/pipelines-*"],
            "Condition": {
                "StringEquals": {"sagemaker:TaggingAction": ["CreateTrainingJob", "CreateProcessingJob"]}
            },
        },
        {
            "Sid": "PassOnlyItself",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [f"<{role_id}.Arn>"],
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
        {
            "Sid": "WriteJobLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            "Resource": [f"{logs}/ProcessingJobs:*", f"{logs}/TrainingJobs:*"],
        },
        {
            "Sid": "PublishJobMetrics",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": {
                "StringEquals": {
                    "cloudwatch:namespace": ["/aws/sagemaker/TrainingJobs", "/aws/sagemaker/ProcessingJobs"]
                }
            },
        },
        {
            "Sid": "ReadInputData",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"<{bucket_id}.Arn>/*"],
        },
        {
            "Sid": "ListInputData",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"<{bucket_id}.Arn>"],
        },
        {
            "Sid": "WriteJobOutputs",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
            "Resource": [f"<{bucket_id}.Arn>/evaluation/*", f"<{bucket_id}.Arn>/models/*"],
        },
        {
            "Sid": "ReadEvaluationScript",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{assets_bucket}/{code_key}"],
        },
        {
            "Sid": "ListEvaluationScript",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{assets_bucket}"],
            "Condition": {"StringEquals": {"s3:prefix": code_key}},
        },
        {
            "Sid": "ReadReleaseScript",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{assets_bucket}/{release_key}"],
        },
        {
            "Sid": "ListReleaseScript",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{assets_bucket}"],
            "Condition": {"StringEquals": {"s3:prefix": release_key}},
        },
        {
            "Sid": "ReleaseTeamArtifacts",  # the central bucket: write-once uploads of the Release step only
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
            "Resource": [f"arn:aws:s3:::{BUCKET}/fraud/releases/*"],
        },
        {
            "Sid": "UseArtifactKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": [KEY_ARN],
        },
        {
            "Sid": "RegisterPendingVersions",
            "Effect": "Allow",
            "Action": ["sagemaker:CreateModelPackage"],
            "Resource": [
                GROUP_ARN,
                f"arn:aws:sagemaker:{REGION}:{REGISTRY_ACCOUNT}:model-package/fraud-detector/*",
            ],
            "Condition": {
                "StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"},
                "Null": {
                    "sagemaker:ModelLifeCycle:Stage": "true",
                    "sagemaker:ModelLifeCycle:StageStatus": "true",
                },
            },
        },
    ]
    assert assets_bucket == f"cdk-hnb659fds-assets-{TEAM_ACCOUNT}-{REGION}"


def test_only_put_metric_data_uses_a_star_resource(template: Template) -> None:
    stars = [
        (s["Sid"], s["Action"])
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "*" in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    assert stars == [("PublishJobMetrics", "cloudwatch:PutMetricData")]
    # ... and AWS offers no resource-level permission for it.
    assert "cloudwatch:putmetricdata" in {
        a.lower() for a in get_actions_that_support_wildcard_arns_only("cloudwatch")
    }


def test_every_action_exists_in_aws(template: Template) -> None:
    actions = {
        action
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    unknown = [
        a
        for a in sorted(actions)
        if a.lower() not in {k.lower() for k in get_actions_for_service(a.split(":")[0])}
    ]
    assert len(actions) == 22 and unknown == []


def test_schedule_starts_the_pipeline_with_a_role_that_may_do_only_that(template: Template) -> None:
    role_id = _logical_id(template, "AWS::IAM::Role", "SchedulerRole")
    pipeline_arn = f"arn:aws:sagemaker:{REGION}:{TEAM_ACCOUNT}:pipeline/mlops-fraud"
    _, schedule = _one(template, "AWS::Scheduler::Schedule")
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "cron(0 3 ? * MON *)"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert _flatten(props["Target"]["Arn"]) == pipeline_arn
    assert props["Target"]["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert [_normalised(s) for s in _statements(template, role_id)] == [
        {
            "Sid": "StartPipeline",
            "Effect": "Allow",
            "Action": ["sagemaker:StartPipelineExecution"],
            "Resource": [pipeline_arn],
        }
    ]
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "scheduler.amazonaws.com"},
                        "Condition": {"StringEquals": {"aws:SourceAccount": TEAM_ACCOUNT}},
                    }
                ]
            },
        },
    )


def test_no_schedule_means_no_scheduler_resources(plain: Template) -> None:
    plain.resource_count_is("AWS::Scheduler::Schedule", 0)
    plain.resource_count_is("AWS::IAM::Role", 1)
    plain.has_resource_properties("AWS::SageMaker::Pipeline", {"PipelineName": "mlops-churn"})


def test_data_bucket_is_private_tls_only_versioned_logged_and_retained(template: Template) -> None:
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "LoggingConfiguration": {
                    "DestinationBucketName": Match.any_value(),
                    "LogFilePrefix": "data/",
                },
            },
            "DeletionPolicy": "Retain",
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_cdk_nag_has_no_unacknowledged_findings(
    app: tuple[cdk.App, TeamPipelineStack, TeamPipelineStack],
) -> None:
    assembly = app[0].synth()
    findings = [
        (artifact.stack_name, m.id, str(m.entry.data))
        for artifact in assembly.stacks
        for m in artifact.messages
        if "AwsSolutions-" in str(m.entry.data)
    ]
    assert findings == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"metric_threshold": 1.5}, "metric_threshold: 1.5 is not an AUC between 0 and 1"),
        ({"schedule": "every monday"}, "schedule: 'every monday' is not an EventBridge Scheduler"),
    ],
)
def test_bad_arguments_name_the_argument_and_value(override: dict[str, Any], message: str) -> None:
    app = cdk.App()
    with pytest.raises(ValueError, match=re.escape(message)):
        TeamPipelineStack(
            app,
            "Bad",
            team="fraud",
            **{**ARGS, **override},
            env=cdk.Environment(account=TEAM_ACCOUNT, region=REGION),
        )


def test_a_stack_without_an_explicit_region_is_refused() -> None:
    with pytest.raises(ValueError, match="explicit region"):
        TeamPipelineStack(cdk.App(), "Agnostic", team="fraud", **ARGS)
