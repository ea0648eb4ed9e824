"""SageMaker authorization against real resource ARNs and condition keys (local.emulator.iam)."""

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

from local.emulator.policy import Decision, conditions_match, evaluate

from .conftest import ACCOUNT, REGION

GROUP = "fraud-detector"
SPEC = {"Containers": [{"Image": "img:1", "ModelDataUrl": "s3://b/m.tar.gz"}]}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/admin"},
            "Action": "sts:AssumeRole",
        }
    ],
}
PACKAGES = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/*"
PUBLISHER = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sagemaker:CreateModelPackage",
            "Resource": PACKAGES,
            "Condition": {"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}},
        },
        {
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
            "Resource": [PACKAGES, "*"],
        },
    ],
}
APPROVER = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "sagemaker:UpdateModelPackage", "Resource": PACKAGES},
        {"Effect": "Deny", "Action": "sagemaker:CreateModelPackage", "Resource": "*"},
    ],
}
DEPLOYER = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["sagemaker:CreateModel"],
            "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/mlops-*",
        },
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/exec",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
    ],
}


@pytest.fixture(scope="module")
def roles(_mocked: None) -> Iterator[dict[str, Any]]:
    """Admin user + team roles created with auth off; yields clients of each role with auth on.

    Built once for the module (IAM set-up is the slow part); the tests only add model versions.
    """
    BackendDict.reset()
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="admin")
    admin_doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(admin_doc))
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    admin = boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
    )
    for name, doc in (("publisher", PUBLISHER), ("approver", APPROVER), ("deployer", DEPLOYER)):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(doc))
    boto3.client("sagemaker", region_name=REGION).create_model_package_group(ModelPackageGroupName=GROUP)
    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        clients = {"admin": admin.client("sagemaker")}
        sts = admin.client("sts")
        for name in ("publisher", "approver", "deployer"):
            creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}", RoleSessionName="sess")[
                "Credentials"
            ]
            clients[name] = boto3.client(
                "sagemaker",
                region_name=REGION,
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
        yield clients
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


def _denied(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(err.value.response["Error"]["Message"])


def test_publisher_may_register_pending_versions_only(roles: dict[str, Any]) -> None:
    pub = roles["publisher"]
    arn = pub.create_model_package(
        ModelPackageGroupName=GROUP, InferenceSpecification=SPEC, ModelApprovalStatus="PendingManualApproval"
    )["ModelPackageArn"]
    assert pub.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"
    message = _denied(
        pub.create_model_package,
        ModelPackageGroupName=GROUP,
        InferenceSpecification=SPEC,
        ModelApprovalStatus="Approved",
    )
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/publisher/sess is not authorized to perform: "
        f"sagemaker:CreateModelPackage on resource: {PACKAGES} "
        "because no identity-based policy allows the sagemaker:CreateModelPackage action"
    )
    # the condition key is absent when the status is omitted: a StringEquals on it does not match
    _denied(pub.create_model_package, ModelPackageGroupName=GROUP, InferenceSpecification=SPEC)
    _denied(pub.update_model_package, ModelPackageArn=arn, ModelApprovalStatus="Approved")


def test_approver_approves_on_the_package_arn(roles: dict[str, Any]) -> None:
    arn = roles["publisher"].create_model_package(
        ModelPackageGroupName=GROUP, InferenceSpecification=SPEC, ModelApprovalStatus="PendingManualApproval"
    )["ModelPackageArn"]
    roles["approver"].update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert roles["admin"].describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"
    message = _denied(
        roles["approver"].create_model_package,
        ModelPackageGroupName=GROUP,
        InferenceSpecification=SPEC,
        ModelApprovalStatus="PendingManualApproval",
    )
    assert message.endswith("with an explicit deny in an identity-based policy")


def test_resource_scoped_allow_does_not_cover_other_groups(roles: dict[str, Any]) -> None:
    roles["admin"].create_model_package_group(ModelPackageGroupName="other-group")
    _denied(
        roles["publisher"].create_model_package,
        ModelPackageGroupName="other-group",
        InferenceSpecification=SPEC,
        ModelApprovalStatus="PendingManualApproval",
    )


def test_create_model_needs_pass_role_on_the_execution_role(roles: dict[str, Any]) -> None:
    dep = roles["deployer"]
    dep.create_model(
        ModelName="mlops-m1",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/exec",
        PrimaryContainer={"Image": "i"},
    )
    message = _denied(
        dep.create_model,
        ModelName="mlops-m2",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/admin",
        PrimaryContainer={"Image": "i"},
    )
    assert "iam:PassRole on resource: arn:aws:iam::" in message
    _denied(
        dep.create_model,
        ModelName="other",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/exec",
        PrimaryContainer={"Image": "i"},
    )


def test_admin_is_allowed_everything(roles: dict[str, Any]) -> None:
    assert roles["admin"].list_model_package_groups()["ModelPackageGroupSummaryList"]


@pytest.mark.parametrize(
    ("conditions", "context", "expected"),
    [
        ({"StringEquals": {"k": "a"}}, {"k": ["a"]}, True),
        ({"StringEquals": {"k": ["a", "b"]}}, {"k": ["b"]}, True),
        ({"StringEquals": {"k": "a"}}, {}, False),
        ({"StringEqualsIfExists": {"k": "a"}}, {}, True),
        ({"StringNotEquals": {"k": "a"}}, {"k": ["b"]}, True),
        ({"StringNotEquals": {"k": "a"}}, {}, True),  # a negated operator matches an absent key
        ({"ArnNotLike": {"k": "arn:*"}}, {}, True),
        ({"ForAnyValue:StringNotEquals": {"k": "a"}}, {}, False),
        ({"StringNotEquals": {"k": "a"}}, {"k": ["a"]}, False),
        ({"StringLike": {"k": "arn:*:role/x-*"}}, {"K": ["arn:aws:role/x-1"]}, True),
        ({"StringEqualsIgnoreCase": {"k": "ABC"}}, {"k": ["abc"]}, True),
        ({"Null": {"k": "true"}}, {}, True),
        ({"Null": {"k": "false"}}, {}, False),
        ({"Bool": {"aws:SecureTransport": False}}, {"aws:SecureTransport": ["false"]}, True),
        ({"NumericLessThan": {"k": "3"}}, {"k": ["1"]}, False),
    ],
)
def test_condition_operators(
    conditions: dict[str, Any], context: dict[str, list[str]], expected: bool
) -> None:
    assert conditions_match(conditions, context) is expected


def test_evaluate_deny_wins_and_not_action() -> None:
    docs = [
        {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]},
        {"Statement": {"Effect": "Deny", "Action": "sagemaker:Delete*", "Resource": "*"}},
    ]
    assert evaluate(docs, "sagemaker:CreateModel", "x") is Decision.ALLOW
    assert evaluate(docs, "iam:CreateRole", "x") is Decision.NEUTRAL
    assert evaluate(docs, "sagemaker:DeleteModel", "x") is Decision.DENY


def test_lifecycle_condition_keys_are_in_the_request_context() -> None:
    """Both spellings match: IAM compares condition key names case-insensitively."""
    from local.emulator.request_keys import sagemaker_request_keys

    params = {
        "ModelApprovalStatus": "PendingManualApproval",
        "ModelLifeCycle": {"Stage": "Production", "StageStatus": "Approved"},
    }
    keys = sagemaker_request_keys("CreateModelPackage", params.get)
    assert keys == {
        "sagemaker:ModelApprovalStatus": ["PendingManualApproval"],
        "sagemaker:ModelLifeCycle:Stage": ["Production"],
        "sagemaker:ModelLifeCycle:StageStatus": ["Approved"],
    }
    assert sagemaker_request_keys("DescribeModelPackage", params.get) == {}
    no_stage = {"Null": {"sagemaker:ModelLifeCycle:Stage": "true"}}
    assert not conditions_match(no_stage, keys)
    assert conditions_match(no_stage, sagemaker_request_keys("CreateModelPackage", {}.get))
    assert conditions_match({"StringEquals": {"sagemaker:modellifecycle:stage": "Production"}}, keys)
