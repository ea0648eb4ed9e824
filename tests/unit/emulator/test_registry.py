"""Model registry calls (local.emulator.registry) against their documented AWS behaviour."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import ACCOUNT, REGION, Capture

GROUP = "fraud-detector"
GROUP_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{GROUP}"
SPEC = {
    "Containers": [{"Image": "123.dkr.ecr.eu-west-1.amazonaws.com/img:1", "ModelDataUrl": "s3://b/m.tar.gz"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Serving",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
            "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
            "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/*",
        }
    ],
}


@pytest.fixture
def reg(sm: Any) -> Any:
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    return sm


def _version(sm: Any, **kwargs: Any) -> str:
    return sm.create_model_package(ModelPackageGroupName=GROUP, InferenceSpecification=SPEC, **kwargs)[
        "ModelPackageArn"
    ]


def test_group_policy_put_get_delete(reg: Any) -> None:
    out = reg.put_model_package_group_policy(ModelPackageGroupName=GROUP, ResourcePolicy=json.dumps(POLICY))
    assert out["ModelPackageGroupArn"] == GROUP_ARN
    got = reg.get_model_package_group_policy(ModelPackageGroupName=GROUP_ARN)["ResourcePolicy"]
    assert json.loads(got) == POLICY
    reg.delete_model_package_group_policy(ModelPackageGroupName=GROUP)
    with pytest.raises(ClientError) as err:
        reg.get_model_package_group_policy(ModelPackageGroupName=GROUP)
    assert err.value.response["Error"]["Code"] == "ResourceNotFound"


def test_group_policy_errors(reg: Any) -> None:
    with pytest.raises(ClientError, match="does not exist"):
        reg.put_model_package_group_policy(ModelPackageGroupName="nope", ResourcePolicy=json.dumps(POLICY))
    with pytest.raises(ClientError, match="Invalid ResourcePolicy"):
        reg.put_model_package_group_policy(ModelPackageGroupName=GROUP, ResourcePolicy="{not json")
    with pytest.raises(ClientError) as err:
        reg.delete_model_package_group_policy(ModelPackageGroupName=GROUP)
    assert err.value.response["Error"]["Code"] == "ResourceNotFound"


def test_arn_addressed_group_and_package_calls(reg: Any) -> None:
    assert reg.describe_model_package_group(ModelPackageGroupName=GROUP_ARN)["ModelPackageGroupName"] == GROUP
    arn = reg.create_model_package(ModelPackageGroupName=GROUP_ARN, InferenceSpecification=SPEC)[
        "ModelPackageArn"
    ]
    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/1"
    listed = reg.list_model_packages(ModelPackageGroupName=GROUP_ARN)["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == [arn]
    assert reg.describe_model_package(ModelPackageName=arn)["ModelPackageVersion"] == 1


def test_versioned_package_defaults_to_pending_manual_approval(reg: Any) -> None:
    arn = _version(reg)
    assert reg.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "PendingManualApproval"


def test_delete_package_never_reuses_versions(reg: Any) -> None:
    v1, v2 = _version(reg), _version(reg)
    reg.delete_model_package(ModelPackageName=v2)
    with pytest.raises(ClientError, match="not found"):
        reg.describe_model_package(ModelPackageName=v2)
    v3 = _version(reg)
    assert v3.endswith(f"{GROUP}/3")
    listed = reg.list_model_packages(ModelPackageGroupName=GROUP, SortOrder="Descending")
    assert [p["ModelPackageArn"] for p in listed["ModelPackageSummaryList"]] == [v3, v1]


def test_delete_group_needs_it_empty(reg: Any) -> None:
    arn = _version(reg)
    with pytest.raises(ClientError, match="still contains model packages"):
        reg.delete_model_package_group(ModelPackageGroupName=GROUP)
    reg.delete_model_package(ModelPackageName=arn)
    reg.delete_model_package_group(ModelPackageGroupName=GROUP_ARN)
    assert reg.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


def test_batch_describe(reg: Any) -> None:
    v1 = _version(reg, ModelLifeCycle={"Stage": "Staging", "StageStatus": "Approved"})
    missing = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/9"
    out = reg.batch_describe_model_package(ModelPackageArnList=[v1, missing])
    summary = out["ModelPackageSummaries"][v1]
    assert summary["ModelPackageVersion"] == 1
    assert summary["ModelPackageGroupName"] == GROUP
    assert summary["ModelApprovalStatus"] == "PendingManualApproval"
    assert summary["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == "s3://b/m.tar.gz"
    assert "ModelLifeCycle" not in summary  # not in the BatchDescribeModelPackageSummary shape
    assert set(out["BatchDescribeModelPackageErrorMap"]) == {missing}


def test_update_keeps_what_is_omitted(reg: Any) -> None:
    arn = _version(reg, CustomerMetadataProperties={"git": "abc"}, ModelPackageDescription="v1")
    reg.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    reg.update_model_package(
        ModelPackageArn=arn,
        ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved", "StageDescription": "go"},
    )
    reg.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"ticket": "T-1"})
    d = reg.describe_model_package(ModelPackageName=arn)
    assert d["ModelApprovalStatus"] == "Approved"
    assert d["ApprovalDescription"] == "ok"
    assert d["ModelPackageDescription"] == "v1"
    assert d["CustomerMetadataProperties"] == {"git": "abc", "ticket": "T-1"}
    assert d["ModelLifeCycle"] == {"Stage": "Production", "StageStatus": "Approved", "StageDescription": "go"}
    assert d["LastModifiedBy"]["IamIdentity"]["Arn"].startswith("arn:aws:")
    reg.update_model_package(ModelPackageArn=arn, CustomerMetadataPropertiesToRemove=["git"])
    assert reg.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {"ticket": "T-1"}


def test_lifecycle_in_list_and_validation(reg: Any) -> None:
    arn = _version(reg, ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress"})
    listed = reg.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    assert listed[0]["ModelLifeCycle"] == {"Stage": "Development", "StageStatus": "InProgress"}
    with pytest.raises(ClientError, match="failed to satisfy constraint"):
        reg.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Maybe")


def test_unversioned_package_still_works(sm: Any) -> None:
    arn = sm.create_model_package(ModelPackageName="standalone", InferenceSpecification=SPEC)[
        "ModelPackageArn"
    ]
    d = sm.describe_model_package(ModelPackageName="standalone")
    assert d["ModelPackageArn"] == arn
    assert "ModelApprovalStatus" not in d


def test_cross_account_arn_needs_group_policy(reg: Any) -> None:
    v1 = _version(reg)
    other = boto3.client("sagemaker", region_name=REGION)
    other.meta.events.register(
        "before-sign.sagemaker.*",
        lambda request, **_: request.headers.add_header("x-moto-account-id", "444444444444"),
    )
    with pytest.raises(ClientError) as err:
        other.describe_model_package(ModelPackageName=v1)
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    reg.put_model_package_group_policy(
        ModelPackageGroupName=GROUP,
        ResourcePolicy=json.dumps(
            {**POLICY, "Statement": [{**POLICY["Statement"][0], "Principal": {"AWS": "444444444444"}}]}
        ),
    )
    assert other.describe_model_package(ModelPackageName=v1)["ModelPackageVersion"] == 1
    listed = other.list_model_packages(ModelPackageGroupName=GROUP_ARN)["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == [v1]
    with pytest.raises(ClientError) as err:
        other.update_model_package(ModelPackageArn=v1, ModelApprovalStatus="Approved")
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"


def test_model_package_state_change_events(reg: Any) -> None:
    capture = Capture({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"]})
    arn = _version(reg, MetadataProperties={"GeneratedBy": "me"})
    reg.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="lgtm")
    reg.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"x": "y"})  # no state change
    reg.update_model_package(
        ModelPackageArn=arn, ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"}
    )
    reg.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    got = capture.drain()
    assert [e["detail"]["ModelApprovalStatus"] for e in got] == [
        "PendingManualApproval",
        "Approved",
        "Approved",
        "Rejected",
    ]
    first = got[0]
    assert first["detail-type"] == "SageMaker Model Package State Change"
    assert first["source"] == "aws.sagemaker"
    assert (first["account"], first["region"], first["resources"]) == (ACCOUNT, REGION, [arn])
    detail = first["detail"]
    assert detail["ModelPackageGroupName"] == GROUP
    assert detail["ModelPackageVersion"] == 1
    assert detail["ModelPackageArn"] == arn
    assert detail["ModelPackageStatus"] == "Completed"
    assert detail["InferenceSpecification"] == SPEC
    assert detail["CreationTime"].endswith("Z")
    assert "ModelPackageName" not in detail
    assert got[1]["detail"]["ApprovalDescription"] == "lgtm"
    assert got[2]["detail"]["ModelLifeCycle"] == {"Stage": "Production", "StageStatus": "Approved"}


def test_cross_account_registration_is_judged_with_the_request_condition_keys(reg: Any) -> None:
    """A group policy granting CreateModelPackage only as PendingManualApproval and without a lifecycle
    stage admits exactly such requests (AWS evaluates resource policies with the request's keys)."""
    reg.put_model_package_group_policy(
        ModelPackageGroupName=GROUP,
        ResourcePolicy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "444444444444"},
                        "Action": "sagemaker:CreateModelPackage",
                        "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/*",
                        "Condition": {
                            "StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"},
                            "Null": {
                                "sagemaker:ModelLifeCycle:Stage": "true",
                                "sagemaker:ModelLifeCycle:StageStatus": "true",
                            },
                        },
                    }
                ],
            }
        ),
    )
    other = boto3.client("sagemaker", region_name=REGION)
    other.meta.events.register(
        "before-sign.sagemaker.*",
        lambda request, **_: request.headers.add_header("x-moto-account-id", "444444444444"),
    )
    arn = other.create_model_package(
        ModelPackageGroupName=GROUP_ARN,
        InferenceSpecification=SPEC,
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    assert arn.startswith(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/")
    for refused in (
        {"ModelApprovalStatus": "Approved"},
        {},  # no status: the key is absent and StringEquals does not match
        {
            "ModelApprovalStatus": "PendingManualApproval",
            "ModelLifeCycle": {"Stage": "Production", "StageStatus": "Approved"},
        },
    ):
        with pytest.raises(ClientError) as err:
            other.create_model_package(
                ModelPackageGroupName=GROUP_ARN, InferenceSpecification=SPEC, **refused
            )
        assert err.value.response["Error"]["Code"] == "AccessDeniedException", refused
        assert "no resource-based policy allows" in err.value.response["Error"]["Message"]
