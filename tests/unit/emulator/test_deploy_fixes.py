"""What ``cdk deploy`` and the demo flow needed beyond the first extension: change set exports and
outputs, tagged KMS keys, bucket policy conditions, CreateModel from another account's package,
organization membership, event source mappings left to the runner, REST signatures under auth."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.runner import SqsRunner

from .conftest import ACCOUNT, REGION


def _stack(cfn: Any, name: str, template: dict[str, Any]) -> str:
    """Create a stack the way the CDK CLI does: a CREATE change set, then execute it."""
    cfn.create_change_set(
        StackName=name,
        ChangeSetName="cdk-deploy-change-set",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    cfn.execute_change_set(ChangeSetName="cdk-deploy-change-set", StackName=name)
    return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def test_change_set_stacks_export_outputs_and_import_them(aws: None) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    producer = {
        "Resources": {
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "KeyPolicy": {"Version": "2012-10-17", "Statement": []},
                    "Tags": [{"Key": "mlops:project", "Value": "model-registry"}],
                },
            },
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "artifacts"}},
        },
        "Outputs": {
            "BucketArn": {
                "Value": {"Fn::GetAtt": ["Bucket", "Arn"]},
                "Export": {"Name": "Producer:BucketArn"},
            },
            "KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}},
        },
    }
    assert _stack(cfn, "Producer", producer) == "CREATE_COMPLETE"
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName="Producer")["Stacks"][0]["Outputs"]
    }
    assert outputs["BucketArn"] == "arn:aws:s3:::artifacts"
    assert [e["Name"] for e in cfn.list_exports()["Exports"]] == ["Producer:BucketArn"]
    key_id = outputs["KeyArn"].rsplit("/", 1)[1]
    tags = boto3.client("kms", region_name=REGION).list_resource_tags(KeyId=key_id)["Tags"]
    assert tags == [{"TagKey": "mlops:project", "TagValue": "model-registry"}]

    consumer = {
        "Resources": {
            "Imported": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": "imported",
                    "Type": "String",
                    "Value": {"Fn::ImportValue": "Producer:BucketArn"},
                },
            },
        },
    }
    assert _stack(cfn, "Consumer", consumer) == "CREATE_COMPLETE"
    imported = boto3.client("ssm", region_name=REGION).get_parameter(Name="imported")["Parameter"]["Value"]
    assert imported == "arn:aws:s3:::artifacts"


def test_global_table_is_a_table_of_the_stack_region(aws: None) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    template = {
        "Resources": {
            "Ledger": {
                "Type": "AWS::DynamoDB::GlobalTable",
                "Properties": {
                    "TableName": "ledger",
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                    "Replicas": [{"Region": REGION, "DeletionProtectionEnabled": True}],
                },
            }
        },
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Ledger", "Arn"]}}},
    }
    assert _stack(cfn, "Ledger", template) == "CREATE_COMPLETE"
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName="ledger")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["DeletionProtectionEnabled"] is True
    output = cfn.describe_stacks(StackName="Ledger")["Stacks"][0]["Outputs"][0]["OutputValue"]
    assert output == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/ledger"


def test_tls_only_bucket_policy_allows_object_requests(aws: None) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="tls", CreateBucketConfiguration={"LocationConstraint": REGION})
    deny_plain_http = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::tls", "arn:aws:s3:::tls/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    deny_prefix = {**deny_plain_http, "Resource": "arn:aws:s3:::tls/secret/*", "Condition": {}}
    policy = {"Version": "2012-10-17", "Statement": [deny_plain_http, deny_prefix]}
    s3.put_bucket_policy(Bucket="tls", Policy=json.dumps(policy))
    s3.put_object(Bucket="tls", Key="team/model.tar.gz", Body=b"x")
    assert s3.get_object(Bucket="tls", Key="team/model.tar.gz")["Body"].read() == b"x"
    with pytest.raises(ClientError) as denied:  # an unconditional Deny still denies
        s3.put_object(Bucket="tls", Key="secret/x", Body=b"x")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def _package(sm: Any, group: str = "fraud") -> str:
    sm.create_model_package_group(ModelPackageGroupName=group)
    return str(
        sm.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [{"Image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/i:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
    )


def test_create_model_needs_an_existing_package(sm: Any) -> None:
    arn = _package(sm)
    role = f"arn:aws:iam::{ACCOUNT}:role/exec"
    sm.create_model(ModelName="ok", ExecutionRoleArn=role, Containers=[{"ModelPackageName": arn}])
    assert sm.describe_model(ModelName="ok")["Containers"][0]["ModelPackageName"] == arn
    with pytest.raises(ClientError) as missing:
        sm.create_model(
            ModelName="missing",
            ExecutionRoleArn=role,
            Containers=[{"ModelPackageName": arn.replace("/1", "/9")}],
        )
    assert "not found" in missing.value.response["Error"]["Message"]


def test_create_model_keeps_network_isolation(sm: Any) -> None:
    arn = _package(sm)
    role = f"arn:aws:iam::{ACCOUNT}:role/exec"
    for name, isolated in (("isolated", True), ("open", False)):
        sm.create_model(
            ModelName=name,
            ExecutionRoleArn=role,
            Containers=[{"ModelPackageName": arn}],
            EnableNetworkIsolation=isolated,
        )
        assert sm.describe_model(ModelName=name)["EnableNetworkIsolation"] is isolated


def test_event_source_mapping_does_not_consume_the_queue(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_function(
        FunctionName="fn",
        Runtime="python3.12",
        Role=role,
        Handler="x.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
    )
    lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arn, BatchSize=1)
    assert (
        lam.list_event_source_mappings(FunctionName="fn")["EventSourceMappings"][0]["EventSourceArn"] == arn
    )
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    seen: list[str] = []
    runner = SqsRunner(
        handler=lambda event, ctx: seen.extend(r["body"] for r in event["Records"]),
        queue_url=url,
        sqs_client=sqs,
        wait_time_seconds=0,
    )
    runner.drain()
    assert seen == ["hello"]  # the runner got it: moto did not try to invoke the function


def _update(cfn: Any, name: str, template: dict[str, Any]) -> str:
    """Update a stack the way the CDK CLI does: an UPDATE change set, then execute it."""
    cfn.create_change_set(
        StackName=name,
        ChangeSetName="cdk-deploy-change-set",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    cfn.execute_change_set(ChangeSetName="cdk-deploy-change-set", StackName=name)
    return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def _key_stack(grantee: str) -> dict[str, Any]:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{grantee}:root"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }
        ],
    }
    return {
        "Resources": {
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {"KeyPolicy": policy, "EnableKeyRotation": True},
                "UpdateReplacePolicy": "Retain",
                "DeletionPolicy": "Retain",
            },
            "Logs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": "/aws/lambda/f", "RetentionInDays": 365},
                "UpdateReplacePolicy": "Retain",
                "DeletionPolicy": "Retain",
            },
        },
        "Outputs": {
            "KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}, "Export": {"Name": "Keys:KeyArn"}},
            "LogsArn": {"Value": {"Fn::GetAtt": ["Logs", "Arn"]}},
        },
    }


def test_an_update_changes_a_key_policy_in_place_and_keeps_its_exports(aws: None) -> None:
    """A key policy change (a serving account leaves the config) is an update with no interruption on AWS:
    the same key, the new policy, the stack's GetAtt and exports still resolve. moto 5.2.5 dropped the key
    from the stack instead, and the update failed with "Fn::GetAtt references undefined resource Key"."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    kms = boto3.client("kms", region_name=REGION)
    assert _stack(cfn, "Keys", _key_stack("333333333333")) == "CREATE_COMPLETE"
    [export] = cfn.list_exports()["Exports"]
    key_id = export["Value"].rsplit("/", 1)[1]

    changed = _key_stack("444444444444")
    changed["Resources"]["Logs"]["Properties"]["RetentionInDays"] = 30
    assert _update(cfn, "Keys", changed) == "UPDATE_COMPLETE"

    assert cfn.list_exports()["Exports"] == [export]  # same key, same ARN
    policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    principals = json.dumps(policy) if not isinstance(policy, str) else policy
    assert "444444444444" in principals and "333333333333" not in principals
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    [group] = boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]
    assert (group["logGroupName"], group["retentionInDays"]) == ("/aws/lambda/f", 30)


def test_change_set_calls_act_on_the_named_stacks_change_set(aws: None) -> None:
    """Every `cdk deploy` names its change set `cdk-deploy-change-set`: deleting one stack's must leave the
    other stack's alone (AWS names change sets per stack). The emulator deleted the first one of that name
    in the region, and the CLI then waited forever for its own to go."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    for name in ("First", "Second"):
        parameter = {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": name, "Type": "String", "Value": name},
        }
        assert _stack(cfn, name, {"Resources": {"Parameter": parameter}}) == "CREATE_COMPLETE"
    cfn.delete_change_set(ChangeSetName="cdk-deploy-change-set", StackName="Second")
    with pytest.raises(ClientError, match="ChangeSetNotFound"):
        cfn.describe_change_set(ChangeSetName="cdk-deploy-change-set", StackName="Second")
    first = cfn.describe_change_set(ChangeSetName="cdk-deploy-change-set", StackName="First")
    assert first["StackName"] == "First"


def test_executing_a_change_set_deletes_the_stacks_other_change_sets(aws: None) -> None:
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets-execute.html:
    "After you execute a change set, CloudFormation deletes any additional change sets that are associated
    with the stack"."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    assert _stack(cfn, "Keys", _key_stack("333333333333")) == "CREATE_COMPLETE"
    cfn.create_change_set(
        StackName="Keys",
        ChangeSetName="stale",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(_key_stack("555555555555")),
    )
    assert _update(cfn, "Keys", _key_stack("444444444444")) == "UPDATE_COMPLETE"
    with pytest.raises(ClientError, match="ChangeSetNotFound"):
        cfn.describe_change_set(ChangeSetName="stale", StackName="Keys")


def test_a_resource_removed_and_added_back_is_created_again(aws: None) -> None:
    """A team leaves the config (its role leaves the template: deleted) and comes back (created again)."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    iam = boto3.client("iam", region_name=REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "sts:AssumeRole"}],
    }
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {"RoleName": "team-role", "AssumeRolePolicyDocument": trust},
    }
    parameter = {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Name": "kept", "Type": "String", "Value": "v"},
    }
    assert _stack(cfn, "Team", {"Resources": {"Role": role, "Kept": parameter}}) == "CREATE_COMPLETE"
    assert _update(cfn, "Team", {"Resources": {"Kept": parameter}}) == "UPDATE_COMPLETE"
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName="team-role")
    assert _update(cfn, "Team", {"Resources": {"Role": role, "Kept": parameter}}) == "UPDATE_COMPLETE"
    assert iam.get_role(RoleName="team-role")["Role"]["RoleName"] == "team-role"
    resources = cfn.describe_stack_resources(StackName="Team")["StackResources"]
    assert sorted(r["LogicalResourceId"] for r in resources) == ["Kept", "Role"]


def test_deleting_a_change_set_the_stack_does_not_have_succeeds(aws: None) -> None:
    """The CDK CLI deletes `cdk-deploy-change-set` "if it exists" before every deploy."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    parameter = {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "p", "Type": "String", "Value": "v"}}
    assert _stack(cfn, "Stack", {"Resources": {"Parameter": parameter}}) == "CREATE_COMPLETE"
    cfn.delete_change_set(ChangeSetName="cdk-deploy-change-set", StackName="Stack")
    cfn.delete_change_set(
        ChangeSetName="cdk-deploy-change-set", StackName="Stack"
    )  # again: nothing to delete
    with pytest.raises(ClientError, match="ChangeSetNotFound"):
        cfn.describe_change_set(ChangeSetName="cdk-deploy-change-set", StackName="Stack")


def test_an_update_the_emulator_cannot_apply_fails_naming_the_type(aws: None) -> None:
    """moto has no update handler for AWS::EC2::VPC: the update fails with the type named, instead of
    dropping the VPC from the stack and failing later on an unrelated reference."""
    cfn = boto3.client("cloudformation", region_name=REGION)
    vpc = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}
    assert _stack(cfn, "Net", {"Resources": {"Vpc": vpc}}) == "CREATE_COMPLETE"
    changed = {"Resources": {"Vpc": {**vpc, "Properties": {"CidrBlock": "10.1.0.0/16"}}}}
    with pytest.raises(ClientError, match="cannot update AWS::EC2::VPC Vpc"):
        _update(cfn, "Net", changed)
