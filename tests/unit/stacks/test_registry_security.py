"""Security requirements of the registry account, read from the synthesized example templates."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.constructs.names import approver_role_name, publisher_role_name
from tests.unit.stacks.policy_helpers import (
    actions_of,
    principals_of,
    render,
    resources_of,
    statements_by_sid,
)
from tests.unit.stacks.synth import Synthesized, example

REGISTRY = "111111111111"
ARN = f"arn:aws:sagemaker:eu-west-1:{REGISTRY}"
ORG = {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}


@pytest.fixture(scope="module")
def synth() -> Synthesized:
    return example()


def group_policy(synth: Synthesized, group: str) -> dict[str, Any]:
    for _, _, resource in synth.all_resources("AWS::SageMaker::ModelPackageGroup"):
        if resource["Properties"]["ModelPackageGroupName"] == group:
            return resource["Properties"]["ModelPackageGroupPolicy"]
    raise AssertionError(f"no group {group}")


def role(synth: Synthesized, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(role properties, statements of the policies attached to it)."""
    for stack, logical_id, resource in synth.all_resources("AWS::IAM::Role"):
        if resource["Properties"].get("RoleName") == name:
            statements = [
                s
                for policy in synth.resources(stack, "AWS::IAM::Policy").values()
                if {"Ref": logical_id} in policy["Properties"]["Roles"]
                for s in policy["Properties"]["PolicyDocument"]["Statement"]
            ]
            return resource["Properties"], statements
    raise AssertionError(f"no role {name}")


def test_group_policy_grants_exactly_register_discover_and_serve(synth: Synthesized) -> None:
    policy = statements_by_sid(group_policy(synth, "fraud-detector"))
    versions = f"{ARN}:model-package/fraud-detector/*"
    assert set(policy) == {
        "OwnerRegistersPendingVersions",
        "OrganizationDiscovers",
        "ServingAccountsCreateModels",
    }

    register = policy["OwnerRegistersPendingVersions"]
    assert principals_of(register) == ["222222222222"]
    assert actions_of(register) == ["sagemaker:CreateModelPackage"]
    assert resources_of(register) == [versions]
    assert register["Condition"] == {
        "StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval", **ORG},
        "Null": {"sagemaker:ModelLifeCycle:Stage": "true", "sagemaker:ModelLifeCycle:StageStatus": "true"},
    }

    # discovery: every principal of the organization, in one statement whatever the number of teams
    discover = policy["OrganizationDiscovers"]
    assert principals_of(discover) == ["*"] and discover["Condition"] == {"StringEquals": ORG}
    assert actions_of(discover) == [
        "sagemaker:DescribeModelPackage",
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:ListModelPackages",
    ]
    assert resources_of(discover) == [f"{ARN}:model-package-group/fraud-detector", versions]

    serve = policy["ServingAccountsCreateModels"]
    assert principals_of(serve) == ["333333333333"]
    assert actions_of(serve) == ["sagemaker:CreateModel", "sagemaker:DescribeModelPackage"]
    assert resources_of(serve) == [versions]
    # only the deployer's deploy-access role there, not the whole serving account (issue 9, finding 7)
    assert serve["Condition"]["ArnEquals"] == {
        "aws:PrincipalArn": "arn:aws:iam::333333333333:role/mlops-deploy-access"
    }
    for statement in policy.values():
        assert statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-a1b2c3d4e5"
        assert "sagemaker:*" not in actions_of(statement)
        assert "*" not in principals_of(statement) or statement is discover


def test_group_without_serving_accounts_grants_no_create_model(synth: Synthesized) -> None:
    # fraud-explainer has no deployment; recommender is served from the registry account itself
    for group in ("fraud-explainer", "recommender"):
        policy = statements_by_sid(group_policy(synth, group))
        assert "ServingAccountsCreateModels" not in policy
        assert all("sagemaker:CreateModel" not in actions_of(s) for s in policy.values())


def test_groups_are_tagged_with_their_owner_team(synth: Synthesized) -> None:
    tags = {
        r["Properties"]["ModelPackageGroupName"]: {t["Key"]: t["Value"] for t in r["Properties"]["Tags"]}
        for _, _, r in synth.all_resources("AWS::SageMaker::ModelPackageGroup")
    }
    assert {g: t["mlops:team"] for g, t in tags.items()} == {
        "fraud-detector": "fraud",
        "fraud-explainer": "fraud",
        "recommender": "recsys",
    }


def trust_principals(props: dict[str, Any]) -> list[tuple[list[str], Any]]:
    return [(principals_of(s), s.get("Condition")) for s in props["AssumeRolePolicyDocument"]["Statement"]]


def test_publisher_trusted_only_by_team_account_within_the_organization(synth: Synthesized) -> None:
    props, _ = role(synth, publisher_role_name("fraud"))
    assert trust_principals(props) == [(["arn:aws:iam::222222222222:root"], {"StringEquals": ORG})]


def test_approver_trusted_only_by_approver_account(synth: Synthesized) -> None:
    props, _ = role(synth, approver_role_name("fraud"))
    assert trust_principals(props) == [(["arn:aws:iam::444444444444:root"], {"StringEquals": ORG})]
    # recsys approves in its own account: only its release managers' role (aws:PrincipalArn)
    props, _ = role(synth, approver_role_name("recsys"))
    assert trust_principals(props) == [
        (
            ["arn:aws:iam::555555555555:root"],
            {
                "StringEquals": ORG,
                "ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::555555555555:role/recsys-release-manager*"]},
            },
        )
    ]


def test_publisher_registers_pending_versions_in_own_groups_only_and_cannot_approve(
    synth: Synthesized,
) -> None:
    _, statements = role(synth, publisher_role_name("fraud"))
    by_sid = {s["Sid"]: s for s in statements}
    register = by_sid["RegisterPendingVersionsInOwnGroups"]
    assert resources_of(register) == sorted(
        [
            f"{ARN}:model-package-group/fraud-detector",
            f"{ARN}:model-package-group/fraud-explainer",
            f"{ARN}:model-package/fraud-detector/*",
            f"{ARN}:model-package/fraud-explainer/*",
        ]
    )
    assert register["Condition"] == {
        "StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"},
        "Null": {"sagemaker:ModelLifeCycle:Stage": "true", "sagemaker:ModelLifeCycle:StageStatus": "true"},
    }
    every_action = {a for s in statements for a in actions_of(s)}
    assert "sagemaker:UpdateModelPackage" not in every_action
    assert not any(a.endswith("*") for a in every_action)
    # writes of model packages happen only in the register statement
    writers = [s["Sid"] for s in statements if "sagemaker:CreateModelPackage" in actions_of(s)]
    assert writers == ["RegisterPendingVersionsInOwnGroups"]


def test_publisher_reads_every_group_for_discovery(synth: Synthesized) -> None:
    _, statements = role(synth, publisher_role_name("recsys"))
    by_sid = {s["Sid"]: s for s in statements}
    assert resources_of(by_sid["DiscoverGroups"]) == [f"{ARN}:model-package-group/*"]
    assert resources_of(by_sid["DiscoverVersions"]) == [f"{ARN}:model-package/*"]
    assert actions_of(by_sid["ListGroups"]) == ["sagemaker:ListModelPackageGroups"]


def test_publisher_writes_artifacts_only_under_own_prefix(synth: Synthesized) -> None:
    _, statements = role(synth, publisher_role_name("fraud"))
    s3_statements = [s for s in statements if any(a.startswith("s3:") for a in actions_of(s))]
    object_statement = next(s for s in s3_statements if "s3:PutObject" in actions_of(s))
    (resource,) = resources_of(object_statement)
    assert resource.startswith("<import:MlopsRegistry:ExportsOutputFnGetAttArtifactsBucket")
    assert resource.endswith(">/fraud/*")
    listing = next(s for s in s3_statements if "s3:ListBucket" in actions_of(s))
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["fraud/", "fraud/*"]}}
    assert {a for s in s3_statements for a in actions_of(s)} == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:ListBucket",
    }


def test_approver_updates_only_own_groups(synth: Synthesized) -> None:
    _, statements = role(synth, approver_role_name("fraud"))
    updates = [s for s in statements if "sagemaker:UpdateModelPackage" in actions_of(s)]
    assert len(updates) == 1
    assert resources_of(updates[0]) == [
        f"{ARN}:model-package/fraud-detector/*",
        f"{ARN}:model-package/fraud-explainer/*",
    ]
    every_action = {a for s in statements for a in actions_of(s)}
    assert "sagemaker:CreateModelPackage" not in every_action
    # reads its team's evaluation reports (mlops versions/compare), writes no artifact
    assert {a for a in every_action if a.startswith("s3:")} == {"s3:GetObject", "s3:GetObjectVersion"}


def test_artifact_bucket_is_private_tls_only_kms_versioned_and_retained(synth: Synthesized) -> None:
    buckets = synth.resources("MlopsRegistry", "AWS::S3::Bucket")
    ((bucket_id, bucket),) = [
        (k, v)
        for k, v in buckets.items()
        if "BucketEncryption" in v["Properties"]
        and "KMSMasterKeyID" in str(v["Properties"]["BucketEncryption"])
    ]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    policy = next(
        p["Properties"]["PolicyDocument"]
        for p in synth.resources("MlopsRegistry", "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    )
    deny_tls = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny_tls and deny_tls[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert actions_of(deny_tls[0]) == ["s3:*"]  # a Deny of everything over plain HTTP
    read = next(s for s in policy["Statement"] if s.get("Sid") == "ServingRolesReadTheirTeamsArtifacts")
    assert principals_of(read) == ["arn:aws:iam::333333333333:root"]
    assert actions_of(read) == ["s3:GetObject", "s3:GetObjectVersion"]
    # only the teams' execution roles, each under its own team's prefix (its mlops:team tag)
    assert read["Condition"]["ArnLike"] == {
        "aws:PrincipalArn": ["arn:aws:iam::333333333333:role/mlops-*-serving"]
    }
    assert render(read["Resource"]) == f"<getatt:{bucket_id}.Arn>/${{aws:PrincipalTag/mlops:team}}/*"


def test_key_rotates_is_retained_and_grants_decrypt_only_to_serving_execution_roles(
    synth: Synthesized,
) -> None:
    (key,) = synth.resources("MlopsRegistry", "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    cross_account = [s for s in statements if "333333333333" in render(s.get("Principal", {}))]
    assert len(cross_account) == 1
    grant = cross_account[0]
    assert actions_of(grant) == ["kms:Decrypt"]
    assert grant["Condition"]["StringEquals"]["kms:ViaService"] == "s3.eu-west-1.amazonaws.com"
    # through S3 for this bucket only (an S3 Bucket Key makes the bucket ARN the encryption context)
    assert (
        grant["Condition"]["StringEquals"]["kms:EncryptionContext:aws:s3:arn"]
        == "arn:aws:s3:::mlops-artifacts-111111111111-eu-west-1"
    )
    assert grant["Condition"]["ArnLike"]["aws:PrincipalArn"] == [
        "arn:aws:iam::333333333333:role/mlops-*-serving"
    ]
    principals = {p for s in statements for p in principals_of(s)}
    # the registry account (key administration), the serving account, the fraud team's pipeline account
    assert principals == {
        "arn:aws:iam::111111111111:root",
        "arn:aws:iam::222222222222:root",
        "arn:aws:iam::333333333333:root",
    }
    pipeline = next(s for s in statements if s.get("Sid") == "TeamPipelinesUseKeyThroughS3")
    assert pipeline["Condition"]["ArnEquals"] == {
        "aws:PrincipalArn": ["arn:aws:iam::222222222222:role/mlops-fraud-pipeline"]
    }
    assert actions_of(pipeline) == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]


def test_team_pipeline_role_writes_only_its_team_prefix(synth: Synthesized) -> None:
    policies = synth.resources("MlopsRegistry", "AWS::S3::BucketPolicy").values()
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    objects = next(s for s in statements if s.get("Sid") == "PipelineFraudObjects")
    assert principals_of(objects) == ["arn:aws:iam::222222222222:root"]
    assert actions_of(objects) == ["s3:AbortMultipartUpload", "s3:PutObject"]
    (resource,) = resources_of(objects)
    assert resource.endswith("Arn>/fraud/releases/*")  # the Release step's write-once uploads
    assert objects["Condition"]["ArnEquals"] == {
        "aws:PrincipalArn": "arn:aws:iam::222222222222:role/mlops-fraud-pipeline"
    }
    assert not any(s.get("Sid") == "PipelineFraudList" for s in statements)  # nothing to list or read
    assert not any(
        s.get("Sid", "").startswith("PipelineRecsys") for s in statements
    )  # recsys has no pipeline


def test_outputs_publish_role_and_group_arns(synth: Synthesized) -> None:
    outputs = synth.templates["MlopsRegistryTeams0"]["Outputs"]
    values = {render(o["Value"]) for o in outputs.values()}
    assert f"{ARN}:model-package-group/fraud-detector" in values
    descriptions = " ".join(o.get("Description", "") for o in outputs.values())
    assert "Assumed from 222222222222 to register versions of team fraud" in descriptions
    assert "Assumed from 444444444444 to approve versions of team fraud" in descriptions


def test_team_pipeline_stack_lives_in_the_team_account_and_names_the_central_key_by_alias(
    synth: Synthesized,
) -> None:
    stack = synth.assembly.pipeline_stacks[0]
    assert (stack.account, stack.region) == ("222222222222", "eu-west-1")
    _, statements = role(synth, "mlops-fraud-pipeline")
    key = next(s for s in statements if s["Sid"] == "UseArtifactKey")
    assert resources_of(key) == ["arn:aws:kms:eu-west-1:111111111111:key/*"]
    assert key["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/mlops-artifacts"}}


LEDGER = f"arn:aws:dynamodb:eu-west-1:{REGISTRY}:table/mlops-deployment-ledger"


@pytest.mark.parametrize(
    ("team", "endpoints"),
    [
        ("fraud", ["333333333333/eu-west-1/fraud-detector-prod"]),
        ("recsys", [f"{REGISTRY}/eu-west-1/recommender-prod"]),
    ],
)
def test_team_roles_read_only_their_own_endpoints_ledger(synth: Synthesized, team, endpoints) -> None:
    """Query (never Scan: a Scan has no leading key, so ForAllValues would not limit it), limited to
    the partition keys of the endpoints that follow the team's groups; the approver may also write the
    `requested` entry of `mlops retry` there, the publisher may not."""
    condition = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": endpoints}}
    for name, writes in ((publisher_role_name(team), False), (approver_role_name(team), True)):
        _, statements = role(synth, name)
        ledger = [s for s in statements if any(a.startswith("dynamodb:") for a in actions_of(s))]
        assert {a for s in ledger for a in actions_of(s)} == (
            {"dynamodb:Query", "dynamodb:PutItem"} if writes else {"dynamodb:Query"}
        )
        for statement in ledger:
            assert resources_of(statement) == [LEDGER]
            assert statement["Condition"] == condition


def test_approver_reads_only_its_teams_reports(synth: Synthesized) -> None:
    _, statements = role(synth, approver_role_name("fraud"))
    reads = [s for s in statements if "s3:GetObject" in actions_of(s)]
    (read,) = reads
    assert render(resources_of(read)[0]).endswith("/fraud/*")
    (decrypt,) = [s for s in statements if "kms:Decrypt" in actions_of(s)]
    assert actions_of(decrypt) == ["kms:Decrypt"]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}


def test_artifacts_are_write_once_and_written_with_the_artifact_key(synth: Synthesized) -> None:
    """Issue 9, finding 5: no principal may write an object without If-None-Match (multipart parts
    exempt: they carry no conditional header), nor with another algorithm or key than the artifact key."""
    (key_id,) = synth.resources("MlopsRegistry", "AWS::KMS::Key")
    KEY_ARN = f"<getatt:{key_id}.Arn>"  # noqa: N806
    policies = synth.resources("MlopsRegistry", "AWS::S3::BucketPolicy").values()
    statements = {s.get("Sid"): s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]}
    expected = {
        "ArtifactsAreWriteOnce": {
            "Null": {"s3:if-none-match": "true"},
            "Bool": {"s3:ObjectCreationOperation": "true"},
        },
        "ArtifactsUseTheArtifactKey": {
            "Null": {"s3:x-amz-server-side-encryption": "false"},
            "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN},
        },
        "ArtifactsAreKmsEncrypted": {
            "Null": {"s3:x-amz-server-side-encryption": "false"},
            "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        },
    }
    for sid, conditions in expected.items():
        statement = statements[sid]
        assert statement["Effect"] == "Deny" and statement["Principal"] == {"AWS": "*"}
        assert actions_of(statement) == ["s3:PutObject"]
        (resource,) = resources_of(statement)
        assert resource.endswith("Arn>/*")
        rendered = {
            op: {k: render(v) for k, v in block.items()} for op, block in statement["Condition"].items()
        }
        assert rendered == conditions
    assert not any("s3:DeleteObject" in actions_of(s) for s in statements.values() if s["Effect"] == "Allow")
