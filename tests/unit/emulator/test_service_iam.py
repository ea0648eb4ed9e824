"""DynamoDB, SNS, SQS, STS and SSM calls authorized on their real resource ARNs (local.emulator.service_iam),
and service-role sessions (local.emulator.service_roles)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.base_backend import BackendDict

from local.emulator.service_roles import NotTrusted, RenewingRoleCredentials, service_role_credentials

from .conftest import ACCOUNT, REGION

SERVING = "333333333333"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/ledger"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:deployments"
OTHER_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:other"
LOCKED_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:locked"  # encrypted with a key the role may not use
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:work"
DEPLOY_ACCESS = f"arn:aws:iam::{SERVING}:role/mlops-deploy-access"
UNTRUSTING = f"arn:aws:iam::{SERVING}:role/trusts-someone-else"  # the identity policy allows it
VERSIONS = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/fraud-detector/*"
CATALOG = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/mlops/deployments"


SCALABLE_TARGETS = [
    (
        "sagemaker",
        "endpoint/fraud-detector-prod/variant/AllTraffic",
        "sagemaker:variant:DesiredInstanceCount",
    ),
    ("dynamodb", "table/ledger", "dynamodb:table:ReadCapacityUnits"),
]


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _worker_policy(key_arn: str) -> str:
    """Shaped like the deployer's role: every statement names its resource."""
    return _doc(
        {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:Query"], "Resource": TABLE},
        {
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": TABLE,
            "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},  # never true here
        },
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": [TOPIC, LOCKED_TOPIC]},
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ],
            "Resource": QUEUE,
        },
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": key_arn},
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [DEPLOY_ACCESS, UNTRUSTING],
            "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}},
        },
        {"Effect": "Deny", "Action": "dynamodb:Query", "Resource": f"{TABLE}/index/*"},
        {"Effect": "Allow", "Action": "sagemaker:ListModelPackages", "Resource": VERSIONS},
        {"Effect": "Allow", "Action": "ssm:GetParametersByPath", "Resource": CATALOG},
        {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": f"{CATALOG}/part-000"},
        # as stacks/constructs/endpoint_autoscaling.py grants them
        {"Effect": "Allow", "Action": "application-autoscaling:DescribeScalableTargets", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "application-autoscaling:RegisterScalableTarget",
            "Resource": f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/*",
            "Condition": {
                "StringEquals": {
                    "application-autoscaling:service-namespace": "sagemaker",
                    "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
                }
            },
        },
        {
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*",
        },
    )


LAMBDA_TRUST = _doc(
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
)


@pytest.fixture(scope="module")
def world(_mocked: None) -> Iterator[dict[str, Any]]:
    """Resources and a role created with auth off; yields the role's clients with auth on."""
    BackendDict.reset()
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="admin")
    iam.put_user_policy(
        UserName="admin",
        PolicyName="admin",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    )
    admin_key = iam.create_access_key(UserName="admin")["AccessKey"]
    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/work", TargetKeyId=key["KeyId"])
    other_key = kms.create_key()["KeyMetadata"]
    ddb = boto3.client("dynamodb", region_name=REGION)
    for name in ("ledger", "other"):
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "gk", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-gk",
                    "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    sns = boto3.client("sns", region_name=REGION)
    sns.create_topic(Name="deployments", Attributes={"KmsMasterKeyId": key["Arn"]})
    sns.create_topic(Name="other")
    sns.create_topic(Name="locked", Attributes={"KmsMasterKeyId": other_key["Arn"]})
    sqs = boto3.client("sqs", region_name=REGION)
    urls = {
        "work": sqs.create_queue(QueueName="work", Attributes={"KmsMasterKeyId": "alias/work"})["QueueUrl"],
        "other": sqs.create_queue(QueueName="other")["QueueUrl"],
    }
    for url in urls.values():
        sqs.send_message(QueueUrl=url, MessageBody="hello")
    sm = boto3.client("sagemaker", region_name=REGION)
    for group in ("fraud-detector", "recommender"):
        sm.create_model_package_group(ModelPackageGroupName=group)
    ecr = boto3.client("ecr", region_name=REGION)
    for repository in ("inference", "other"):
        ecr.create_repository(repositoryName=repository)
    ssm = boto3.client("ssm", region_name=REGION)
    for name in ("/mlops/deployments/part-000", "/mlops/deployments/part-001", "/mlops/other"):
        ssm.put_parameter(Name=name, Value="{}", Type="String")
    scaling = boto3.client("application-autoscaling", region_name=REGION)
    for namespace, resource_id, dimension in SCALABLE_TARGETS:
        scaling.register_scalable_target(
            ServiceNamespace=namespace,
            ResourceId=resource_id,
            ScalableDimension=dimension,
            MinCapacity=1,
            MaxCapacity=4,
        )
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=LAMBDA_TRUST)
    iam.put_role_policy(RoleName="worker", PolicyName="p", PolicyDocument=_worker_policy(key["Arn"]))
    iam.create_role(RoleName="ec2-only", AssumeRolePolicyDocument=LAMBDA_TRUST.replace("lambda", "ec2"))
    serving_iam = boto3.client("iam", region_name=REGION)
    serving_iam.meta.events.register(
        "before-sign.iam.*", lambda request, **_: request.headers.add_header("x-moto-account-id", SERVING)
    )
    for name, trusted in (
        ("mlops-deploy-access", f"arn:aws:iam::{ACCOUNT}:role/worker"),
        ("trusts-someone-else", f"arn:aws:iam::{ACCOUNT}:role/someone-else"),
    ):
        serving_iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=_doc(
                {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}
            ),
        )
    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        creds = service_role_credentials(
            f"arn:aws:iam::{ACCOUNT}:role/worker", session_name="worker", region=REGION
        )
        worker = boto3.Session(
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            region_name=REGION,
        )
        admin = boto3.Session(
            aws_access_key_id=admin_key["AccessKeyId"],
            aws_secret_access_key=admin_key["SecretAccessKey"],
            region_name=REGION,
        )
        yield {"worker": worker, "admin": admin, "urls": urls}
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


def _denied(call: Any, code: str, status: int, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    assert err.value.response["Error"]["Code"] == code
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    return str(err.value.response["Error"]["Message"])


# --- DynamoDB ---------------------------------------------------------------------------------------


def test_dynamodb_allows_the_granted_actions_on_the_table(world: dict[str, Any]) -> None:
    ddb = world["worker"].client("dynamodb")
    ddb.put_item(TableName="ledger", Item={"pk": {"S": "a"}})
    found = ddb.query(
        TableName="ledger",
        KeyConditionExpression="pk = :k",
        ExpressionAttributeValues={":k": {"S": "a"}},
    )
    assert found["Count"] == 1
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "b"}})  # a table ARN is the same resource


def test_dynamodb_denies_another_table_and_ungranted_actions(world: dict[str, Any]) -> None:
    ddb = world["worker"].client("dynamodb")
    message = _denied(ddb.put_item, "AccessDeniedException", 400, TableName="other", Item={"pk": {"S": "a"}})
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/worker/worker is not authorized to perform: "
        f"dynamodb:PutItem on resource: arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/other "
        "because no identity-based policy allows the dynamodb:PutItem action"
    )
    _denied(ddb.delete_item, "AccessDeniedException", 400, TableName="ledger", Key={"pk": {"S": "a"}})


def test_dynamodb_a_conditional_allow_that_does_not_match_only_does_not_allow(world: dict[str, Any]) -> None:
    ddb = world["worker"].client("dynamodb")
    message = _denied(ddb.get_item, "AccessDeniedException", 400, TableName="ledger", Key={"pk": {"S": "a"}})
    assert "no identity-based policy allows" in message


def test_dynamodb_queries_on_an_index_are_authorized_on_the_index(world: dict[str, Any]) -> None:
    ddb = world["worker"].client("dynamodb")
    message = _denied(
        ddb.query,
        "AccessDeniedException",
        400,
        TableName="ledger",
        IndexName="by-gk",
        KeyConditionExpression="gk = :k",
        ExpressionAttributeValues={":k": {"S": "a"}},
    )
    assert f"on resource: {TABLE}/index/by-gk with an explicit deny" in message


def test_dynamodb_batch_writes_need_put_item_on_every_table(world: dict[str, Any]) -> None:
    ddb = world["worker"].client("dynamodb")
    ddb.batch_write_item(RequestItems={"ledger": [{"PutRequest": {"Item": {"pk": {"S": "c"}}}}]})
    message = _denied(
        ddb.batch_write_item,
        "AccessDeniedException",
        400,
        RequestItems={
            "ledger": [{"PutRequest": {"Item": {"pk": {"S": "d"}}}}],
            "other": [{"PutRequest": {"Item": {"pk": {"S": "d"}}}}],
        },
    )
    assert "dynamodb:PutItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/other" in message


def test_dynamodb_calls_without_a_table_keep_motos_check(world: dict[str, Any]) -> None:
    _denied(world["worker"].client("dynamodb").list_tables, "403", 403)  # moto's XML body in a JSON API
    assert "ledger" in world["admin"].client("dynamodb").list_tables()["TableNames"]


# --- SNS --------------------------------------------------------------------------------------------


def test_sns_publish_is_allowed_on_the_topic_with_its_key(world: dict[str, Any]) -> None:
    assert world["worker"].client("sns").publish(TopicArn=TOPIC, Message="deployed")["MessageId"]


def test_sns_publish_is_denied_on_another_topic(world: dict[str, Any]) -> None:
    message = _denied(
        world["worker"].client("sns").publish, "AuthorizationError", 403, TopicArn=OTHER_TOPIC, Message="x"
    )
    assert f"sns:Publish on resource: {OTHER_TOPIC}" in message


def test_sns_publish_to_an_encrypted_topic_needs_its_key(world: dict[str, Any]) -> None:
    message = _denied(
        world["worker"].client("sns").publish, "AuthorizationError", 403, TopicArn=LOCKED_TOPIC, Message="x"
    )
    assert "kms:GenerateDataKey on resource: arn:aws:kms:" in message


# --- SQS --------------------------------------------------------------------------------------------


def test_sqs_receive_and_batch_delete_on_the_queue(world: dict[str, Any]) -> None:
    sqs = world["worker"].client("sqs")
    url = sqs.get_queue_url(QueueName="work")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"]
    deleted = sqs.delete_message_batch(  # authorized as sqs:DeleteMessage: IAM has no batch actions
        QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": messages[0]["ReceiptHandle"]}]
    )
    assert [d["Id"] for d in deleted["Successful"]] == ["0"]


def test_sqs_denies_another_queue_and_ungranted_actions(world: dict[str, Any]) -> None:
    sqs = world["worker"].client("sqs")
    message = _denied(sqs.receive_message, "AccessDenied", 403, QueueUrl=world["urls"]["other"])
    assert f"sqs:ReceiveMessage on resource: arn:aws:sqs:{REGION}:{ACCOUNT}:other" in message
    _denied(sqs.send_message, "AccessDenied", 403, QueueUrl=world["urls"]["work"], MessageBody="x")


def test_sqs_an_encrypted_queue_needs_kms_decrypt_to_receive(world: dict[str, Any]) -> None:
    from local.emulator.service_iam import sqs_requirements

    class FakeResponse:
        partition, region, current_account = "aws", REGION, ACCOUNT
        params = {"QueueUrl": world["urls"]["work"]}

        def _get_action(self) -> str:
            return "ReceiveMessage"

    needed = sqs_requirements(FakeResponse())
    assert needed is not None
    assert needed[0] == ("sqs:ReceiveMessage", QUEUE)
    assert [a for a, _ in needed[1:]] == ["kms:Decrypt"]  # the alias resolved to the key's ARN
    assert needed[1][1].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")


# --- STS --------------------------------------------------------------------------------------------


def test_sts_assume_role_is_allowed_on_the_named_role(world: dict[str, Any]) -> None:
    sts = world["worker"].client("sts")
    creds = sts.assume_role(RoleArn=DEPLOY_ACCESS, RoleSessionName="deployer")["Credentials"]
    assert creds["AccessKeyId"]


def test_sts_assume_role_is_denied_on_another_role(world: dict[str, Any]) -> None:
    sts = world["worker"].client("sts")
    other = f"arn:aws:iam::{SERVING}:role/admin"
    message = _denied(sts.assume_role, "AccessDenied", 403, RoleArn=other, RoleSessionName="deployer")
    assert f"sts:AssumeRole on resource: {other}" in message


def test_sts_cross_account_assume_role_needs_the_target_roles_trust(world: dict[str, Any]) -> None:
    """The identity policy allows it, but the role in the other account trusts another principal."""
    sts = world["worker"].client("sts")
    message = _denied(sts.assume_role, "AccessDenied", 403, RoleArn=UNTRUSTING, RoleSessionName="deployer")
    assert f"sts:AssumeRole on resource: {UNTRUSTING}" in message


def test_sts_assume_role_of_a_role_that_does_not_exist_is_denied(world: dict[str, Any]) -> None:
    sts = world["admin"].client("sts")
    missing = f"arn:aws:iam::{SERVING}:role/no-such-role"
    _denied(sts.assume_role, "AccessDenied", 403, RoleArn=missing, RoleSessionName="admin")


# --- SageMaker ListModelPackages (local.emulator.iam) ----------------------------------------------


def test_list_model_packages_is_authorized_on_the_group_versions(world: dict[str, Any]) -> None:
    sm = world["worker"].client("sagemaker")
    assert sm.list_model_packages(ModelPackageGroupName="fraud-detector")["ModelPackageSummaryList"] == []
    message = _denied(
        sm.list_model_packages, "AccessDeniedException", 400, ModelPackageGroupName="recommender"
    )
    assert f"on resource: arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/recommender/*" in message


# --- service-role sessions --------------------------------------------------------------------------


def test_a_service_role_session_acts_as_the_role(world: dict[str, Any]) -> None:
    identity = world["worker"].client("sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/worker"


def test_a_role_that_does_not_trust_the_service_gets_no_session(world: dict[str, Any]) -> None:
    with pytest.raises(NotTrusted):
        service_role_credentials(f"arn:aws:iam::{ACCOUNT}:role/ec2-only", session_name="s", region=REGION)


def test_role_credentials_are_renewed_before_they_expire(world: dict[str, Any]) -> None:
    now = [0.0]
    renewed: list[str] = []
    creds = RenewingRoleCredentials(
        f"arn:aws:iam::{ACCOUNT}:role/worker",
        region=REGION,
        session_name="worker",
        clock=lambda: now[0],
        on_renew=lambda fresh: renewed.append(fresh.access_key_id),
    )
    first = creds.get()
    now[0] = first.expires_at - 901
    assert creds.get() is first and not renewed
    now[0] = first.expires_at - 899  # botocore refreshes 15 minutes ahead: renew by then
    second = creds.get()
    assert second.access_key_id != first.access_key_id
    assert renewed == [second.access_key_id] and creds.renewals == 1
    now[0] = 0.0  # the new session expires an hour after the (real) time it was made
    assert creds.environment()["AWS_SESSION_TOKEN"] == second.session_token


# --- SSM Parameter Store ----------------------------------------------------------------------------


def test_ssm_get_parameters_by_path_is_authorized_against_the_path(world: dict[str, Any]) -> None:
    """AWS authorizes GetParametersByPath against the path, not each parameter returned:
    https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-retrieval-authorization.html"""
    ssm = world["worker"].client("ssm")
    found = ssm.get_parameters_by_path(Path="/mlops/deployments")["Parameters"]
    assert sorted(p["Name"] for p in found) == ["/mlops/deployments/part-000", "/mlops/deployments/part-001"]
    message = _denied(ssm.get_parameters_by_path, "AccessDeniedException", 400, Path="/mlops")
    assert "ssm:GetParametersByPath" in message and "parameter/mlops" in message


def test_ssm_get_parameter_is_authorized_against_each_parameter(world: dict[str, Any]) -> None:
    ssm = world["worker"].client("ssm")
    assert ssm.get_parameter(Name="/mlops/deployments/part-000")["Parameter"]["Value"] == "{}"
    _denied(ssm.get_parameter, "AccessDeniedException", 400, Name="/mlops/deployments/part-001")
    _denied(ssm.get_parameters, "AccessDeniedException", 400, Names=["/mlops/deployments/part-000"])


# --- Application Auto Scaling -------------------------------------------------------------------------


def test_autoscaling_describe_needs_no_resource_and_register_is_limited_to_sagemaker_variants(
    world: dict[str, Any],
) -> None:
    scaling = world["worker"].client("application-autoscaling")
    (sagemaker, dynamodb) = SCALABLE_TARGETS
    found = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert [t["ResourceId"] for t in found] == [sagemaker[1]]
    scaling.register_scalable_target(
        ServiceNamespace=sagemaker[0], ResourceId=sagemaker[1], ScalableDimension=sagemaker[2], MinCapacity=2
    )
    message = _denied(
        scaling.register_scalable_target,
        "AccessDeniedException",
        400,
        ServiceNamespace=dynamodb[0],
        ResourceId=dynamodb[1],
        ScalableDimension=dynamodb[2],
        MinCapacity=2,
    )
    assert "application-autoscaling:RegisterScalableTarget" in message and ":scalable-target/" in message
    # a new target is authorized against "*", which the statement does not name
    _denied(
        scaling.register_scalable_target,
        "AccessDeniedException",
        400,
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/other/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=2,
    )


# --- ECR --------------------------------------------------------------------------------------------


def test_ecr_pulls_are_authorized_on_the_repository_of_the_registry_id(world: dict[str, Any]) -> None:
    ecr = world["worker"].client("ecr")
    found = ecr.batch_get_image(repositoryName="inference", imageIds=[{"imageTag": "1"}])
    assert found["images"] == []  # authorized; the tag does not exist
    message = _denied(
        ecr.batch_get_image,
        "AccessDeniedException",
        400,
        registryId="999999999999",
        repositoryName="miner",
        imageIds=[{"imageTag": "latest"}],
    )
    assert "ecr:BatchGetImage on resource: arn:aws:ecr:eu-west-1:999999999999:repository/miner" in message
    _denied(  # granted pulls only: no other repository action
        ecr.list_images, "AccessDeniedException", 400, repositoryName="inference"
    )
