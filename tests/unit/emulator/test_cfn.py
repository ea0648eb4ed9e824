"""CloudFormation handlers (local.emulator.cfn) and the resource types a typical CDK stack needs."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.base_backend import BackendDict

from local.emulator.cfn import HANDLED_TYPES

from .conftest import ACCOUNT, REGION

BOOTSTRAP = Path(__file__).parents[3] / "node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml"
SERVING = "333333333333"
GROUP_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{SERVING}:root"},
            "Action": ["sagemaker:DescribeModelPackage"],
            "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/fraud/*",
        }
    ],
}


def _allow(principal: Any, action: str, resource: Any) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}],
    }


def _template() -> dict[str, Any]:
    """What a CDK registry stack synthesizes to, written by hand (no CDK here)."""
    queue_arn = {"Fn::GetAtt": ["Queue", "Arn"]}
    return {
        "Resources": {
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "KeyPolicy": _allow({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "kms:*", "*"),
                    "Tags": [{"Key": "mlops:project", "Value": "model-registry"}],
                },
            },
            "KeyAlias": {
                "Type": "AWS::KMS::Alias",
                "Properties": {"AliasName": "alias/mlops", "TargetKeyId": {"Ref": "Key"}},
            },
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": "mlops-artifacts",
                    "VersioningConfiguration": {"Status": "Enabled"},
                },
            },
            "BucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "Bucket"},
                    "PolicyDocument": _allow(
                        {"AWS": f"arn:aws:iam::{SERVING}:root"},
                        "s3:GetObject",
                        "arn:aws:s3:::mlops-artifacts/*",
                    ),
                },
            },
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "mlops-deployer",
                    "AssumeRolePolicyDocument": _allow(
                        {"Service": "lambda.amazonaws.com"}, "sts:AssumeRole", None
                    )
                    | {},
                },
            },
            "RolePolicy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "p",
                    "Roles": [{"Ref": "Role"}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": queue_arn}],
                    },
                },
            },
            "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "mlops-deployer-dlq"}},
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "QueueName": "mlops-deployer",
                    "VisibilityTimeout": 30,
                    "RedrivePolicy": {
                        "deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]},
                        "maxReceiveCount": 3,
                    },
                },
            },
            "QueuePolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [{"Ref": "Queue"}],
                    "PolicyDocument": _allow(
                        {"Service": "events.amazonaws.com"}, "sqs:SendMessage", queue_arn
                    ),
                },
            },
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "mlops-deployments"}},
            "TopicPolicy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "Topics": [{"Ref": "Topic"}],
                    "PolicyDocument": _allow(
                        {"Service": "cloudwatch.amazonaws.com"}, "sns:Publish", {"Ref": "Topic"}
                    ),
                },
            },
            "Subscription": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "TopicArn": {"Ref": "Topic"},
                    "Protocol": "sqs",
                    "Endpoint": {"Fn::GetAtt": ["Dlq", "Arn"]},
                    "RawMessageDelivery": True,
                },
            },
            "Ledger": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "mlops-deployment-ledger",
                    "KeySchema": [
                        {"AttributeName": "endpoint_id", "KeyType": "HASH"},
                        {"AttributeName": "at", "KeyType": "RANGE"},
                    ],
                    "AttributeDefinitions": [
                        {"AttributeName": "endpoint_id", "AttributeType": "S"},
                        {"AttributeName": "at", "AttributeType": "S"},
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                },
            },
            "GlobalLedger": {  # CDK's TableV2
                "Type": "AWS::DynamoDB::GlobalTable",
                "DeletionPolicy": "Retain",
                "Properties": {
                    "TableName": "mlops-global-ledger",
                    "KeySchema": [
                        {"AttributeName": "endpoint_id", "KeyType": "HASH"},
                        {"AttributeName": "at", "KeyType": "RANGE"},
                    ],
                    "AttributeDefinitions": [
                        {"AttributeName": "endpoint_id", "AttributeType": "S"},
                        {"AttributeName": "at", "AttributeType": "S"},
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                    "Replicas": [
                        {
                            "Region": REGION,
                            "DeletionProtectionEnabled": True,
                            "Tags": [{"Key": "mlops:project", "Value": "model-registry"}],
                        }
                    ],
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "mlops-deployer",
                    "Runtime": "python3.12",
                    "Handler": "deployer.handler.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"S3Bucket": "cdk-assets", "S3Key": "asset.zip"},
                    "Environment": {"Variables": {"LEDGER_TABLE": {"Ref": "Ledger"}}},
                },
            },
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Function"},
                    "EventSourceArn": queue_arn,
                    "BatchSize": 10,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                },
            },
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": "mlops-approvals",
                    "EventPattern": {
                        "source": ["aws.sagemaker"],
                        "detail-type": ["SageMaker Model Package State Change"],
                    },
                    "Targets": [{"Id": "q", "Arn": queue_arn}],
                },
            },
            "Sweep": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "ScheduleExpression": "rate(15 minutes)",
                    "Targets": [{"Id": "q", "Arn": queue_arn}],
                },
            },
            "BusPolicy": {
                "Type": "AWS::Events::EventBusPolicy",
                "Properties": {
                    "StatementId": "serving-accounts",
                    "Statement": {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{SERVING}:root"},
                        "Action": "events:PutEvents",
                        "Resource": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
                    },
                },
            },
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "mlops-fraud-prod-5xx",
                    "Namespace": "AWS/SageMaker",
                    "MetricName": "Invocation5XXErrors",
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": "fraud-prod"},
                        {"Name": "VariantName", "Value": "AllTraffic"},
                    ],
                    "Statistic": "Sum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 1,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "AlarmActions": [{"Ref": "Topic"}],
                },
            },
            "MathAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "mlops-dlq-depth",
                    "EvaluationPeriods": 1,
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "Metrics": [
                        {
                            "Id": "m",
                            "ReturnData": True,
                            "MetricStat": {
                                "Metric": {
                                    "Namespace": "AWS/SQS",
                                    "MetricName": "ApproximateNumberOfMessagesVisible",
                                    "Dimensions": [{"Name": "QueueName", "Value": "mlops-deployer-dlq"}],
                                },
                                "Period": 60,
                                "Stat": "Maximum",
                            },
                        }
                    ],
                },
            },
            "Group": {
                "Type": "AWS::SageMaker::ModelPackageGroup",
                "Properties": {
                    "ModelPackageGroupName": "fraud",
                    "ModelPackageGroupDescription": "fraud models",
                    "ModelPackageGroupPolicy": GROUP_POLICY,
                },
            },
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:xyz"}},
            "Pipeline": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": "mlops-fraud",
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "PipelineDefinition": {
                        "PipelineDefinitionBody": json.dumps({"Version": "2020-12-01", "Steps": []})
                    },
                },
            },
            "Schedule": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "ScheduleExpression": "cron(0 3 ? * MON *)",
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "Target": {
                        "Arn": "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/mlops-fraud",
                        "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    },
                },
            },
        },
        "Outputs": {
            "GroupArn": {"Value": {"Fn::GetAtt": ["Group", "ModelPackageGroupArn"]}},
            "GroupRef": {"Value": {"Ref": "Group"}},
            "AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}},
        },
    }


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _create_stack() -> dict[str, Any]:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="cdk-assets", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="cdk-assets", Key="asset.zip", Body=b"PK\x05\x06" + b"\x00" * 18)
    cfn = boto3.client("cloudformation", region_name=REGION)
    handler = _Warnings()
    logging.getLogger("moto").addHandler(handler)
    try:
        cfn.create_stack(
            StackName="registry", TemplateBody=json.dumps(_template()), Capabilities=["CAPABILITY_NAMED_IAM"]
        )
    finally:
        logging.getLogger("moto").removeHandler(handler)
    description = cfn.describe_stacks(StackName="registry")["Stacks"][0]
    return {"description": description, "log": "\n".join(handler.messages), "cfn": cfn}


@pytest.fixture(scope="module")
def stack(_mocked: None) -> dict[str, Any]:
    """One stack for the read-only tests; the tests that change it come last and make their own."""
    BackendDict.reset()
    return _create_stack()


@pytest.fixture
def own_stack(aws: None) -> dict[str, Any]:
    return _create_stack()


def test_every_type_of_the_stack_is_handled(stack: dict[str, Any]) -> None:
    assert stack["description"]["StackStatus"] == "CREATE_COMPLETE"
    assert "No Moto CloudFormation support" not in stack["log"]
    listed = stack["cfn"].list_stack_resources(StackName="registry")["StackResourceSummaries"]
    types = {r["ResourceType"] for r in listed}
    assert set(HANDLED_TYPES) <= types


def test_team_pipeline_and_its_schedule_are_created(stack: dict[str, Any]) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    pipeline = sm.describe_pipeline(PipelineName="mlops-fraud")
    assert json.loads(pipeline["PipelineDefinition"]) == {"Version": "2020-12-01", "Steps": []}
    role_name = pipeline["RoleArn"].split("/")[-1]
    assert (
        boto3.client("iam", region_name=REGION).get_role(RoleName=role_name)["Role"]["Arn"]
        == pipeline["RoleArn"]
    )
    schedules = boto3.client("scheduler", region_name=REGION).list_schedules()["Schedules"]
    assert [s["Target"]["Arn"] for s in schedules] == [
        "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/mlops-fraud"
    ]


def test_model_package_group_and_its_policy(stack: dict[str, Any]) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    group = sm.describe_model_package_group(ModelPackageGroupName="fraud")
    assert group["ModelPackageGroupDescription"] == "fraud models"
    assert (
        json.loads(sm.get_model_package_group_policy(ModelPackageGroupName="fraud")["ResourcePolicy"])
        == GROUP_POLICY
    )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["description"]["Outputs"]}
    assert outputs["GroupArn"] == outputs["GroupRef"] == group["ModelPackageGroupArn"]


def test_policies_subscription_and_alarms_are_applied(stack: dict[str, Any]) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName="mlops-deployer")["QueueUrl"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    assert policy["Statement"][0]["Action"] == "sqs:SendMessage"
    bucket_policy = json.loads(
        boto3.client("s3", region_name=REGION).get_bucket_policy(Bucket="mlops-artifacts")["Policy"]
    )
    assert bucket_policy["Statement"][0]["Action"] == "s3:GetObject"
    bus = json.loads(boto3.client("events", region_name=REGION).describe_event_bus()["Policy"])
    assert [s["Sid"] for s in bus["Statement"]] == ["serving-accounts"]
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.list_topics()["Topics"][0]["TopicArn"]
    assert (
        json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])["Statement"][0]["Action"]
        == "sns:Publish"
    )
    (sub,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sub["Protocol"] == "sqs"
    cw = boto3.client("cloudwatch", region_name=REGION)
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    assert set(alarms) == {"mlops-fraud-prod-5xx", "mlops-dlq-depth"}
    assert alarms["mlops-fraud-prod-5xx"]["Dimensions"][0] == {"Name": "EndpointName", "Value": "fraud-prod"}


def test_moto_native_types_of_the_stack(stack: dict[str, Any]) -> None:
    fn = boto3.client("lambda", region_name=REGION).get_function(FunctionName="mlops-deployer")
    assert fn["Configuration"]["Environment"]["Variables"]["LEDGER_TABLE"] == "mlops-deployment-ledger"
    mappings = boto3.client("lambda", region_name=REGION).list_event_source_mappings()["EventSourceMappings"]
    assert len(mappings) == 1
    rules = boto3.client("events", region_name=REGION).list_rules()["Rules"]
    assert {r["Name"] for r in rules} >= {"mlops-approvals"}
    assert boto3.client("dynamodb", region_name=REGION).describe_table(TableName="mlops-deployment-ledger")
    assert boto3.client("kms", region_name=REGION).list_aliases()["Aliases"]


def test_stack_deletion_removes_what_the_handlers_made(own_stack: dict[str, Any]) -> None:
    own_stack["cfn"].delete_stack(StackName="registry")
    sm = boto3.client("sagemaker", region_name=REGION)
    assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    assert boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"] == []
    assert "Policy" not in boto3.client("events", region_name=REGION).describe_event_bus()


def test_stack_update_changes_the_group_policy(own_stack: dict[str, Any]) -> None:
    template = _template()
    new_policy = {**GROUP_POLICY, "Statement": [{**GROUP_POLICY["Statement"][0], "Sid": "v2"}]}
    template["Resources"]["Group"]["Properties"]["ModelPackageGroupPolicy"] = new_policy
    own_stack["cfn"].update_stack(
        StackName="registry", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"]
    )
    sm = boto3.client("sagemaker", region_name=REGION)
    assert (
        json.loads(sm.get_model_package_group_policy(ModelPackageGroupName="fraud")["ResourcePolicy"])
        == new_policy
    )


def _update(stack: dict[str, Any], template: dict[str, Any], name: str = "registry") -> None:
    stack["cfn"].update_stack(
        StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"]
    )


def test_a_retained_group_removed_from_the_template_stays_and_cannot_be_created_again(
    own_stack: dict[str, Any],
) -> None:
    """AWS keeps a Retain resource removed by an update (aws-attribute-deletionpolicy.html), and a template
    that creates a group whose name is taken fails (the group is named)."""
    sm = boto3.client("sagemaker", region_name=REGION)
    template = _template()
    template["Resources"]["Group"]["DeletionPolicy"] = "Retain"
    _update(own_stack, template)
    without = copy.deepcopy(template)
    del without["Resources"]["Group"]
    without["Outputs"] = {k: v for k, v in template["Outputs"].items() if not k.startswith("Group")}
    _update(own_stack, without)
    assert sm.describe_model_package_group(ModelPackageGroupName="fraud")["ModelPackageGroupName"] == "fraud"
    cfn = own_stack["cfn"]
    again = json.dumps({"Resources": {"G": template["Resources"]["Group"]}})
    with pytest.raises(ClientError, match="Model package group fraud already exists"):
        cfn.create_stack(StackName="other", TemplateBody=again)


@pytest.mark.skipif(not BOOTSTRAP.exists(), reason="aws-cdk not installed in node_modules")
@pytest.mark.usefixtures("aws")
def test_cdk_bootstrap_template_creates(caplog: pytest.LogCaptureFixture) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    with caplog.at_level(logging.WARNING, logger="moto"):
        cfn.create_stack(
            StackName="CDKToolkit", TemplateBody=BOOTSTRAP.read_text(), Capabilities=["CAPABILITY_NAMED_IAM"]
        )
    assert cfn.describe_stacks(StackName="CDKToolkit")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert "No Moto CloudFormation support" not in caplog.text
    ssm = boto3.client("ssm", region_name=REGION)
    assert ssm.get_parameter(Name="/cdk-bootstrap/hnb659fds/version")["Parameter"]["Value"]
