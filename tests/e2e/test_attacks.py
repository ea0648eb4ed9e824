"""Attacks on "approval means exactly what runs" (issue 9), each tried as the attacker would try it:
on the emulator, with every stack deployed by the CDK CLI, through the real roles, as the attacker's
own principal. Every attack must be refused; every legitimate path next to it must still work.

One deploy for the module (about 30-60 s). The emulator enforces identity policies, group resource
policies (with the request's condition keys) and role trust policies as AWS documents them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.demo import Scenario
from local.emulator.service_roles import service_role_credentials
from local.emulator.up import LocalAws

from .conftest import deployed_local_aws

pytestmark = pytest.mark.skipif(shutil.which("npx") is None, reason="the CDK CLI (npx) is not installed")

REGISTRY = "111111111111"
FRAUD_ACCOUNT = "222222222222"
SERVING = "333333333333"
FRAUD_APPROVER_ACCOUNT = "444444444444"
RECSYS_ACCOUNT = "555555555555"
REGION = "eu-west-1"
FRAUD_GROUP = f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package-group/fraud-detector"
RECSYS_GROUP = f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package-group/recommender"
BUCKET = f"mlops-artifacts-{REGISTRY}-{REGION}"
IMAGE = f"{REGISTRY}.dkr.ecr.{REGION}.amazonaws.com/fraud-detector:1.4"
PRODUCTION = {"Stage": "Production", "StageStatus": "Approved", "StageDescription": "straight to prod"}


def spec(prefix: str = "fraud/fraud-detector/v1") -> dict[str, Any]:
    return {
        "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{prefix}/model.tar.gz"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    """Its own emulator: the attacks change registry state the demo's modules rely on."""
    with deployed_local_aws() as local:
        yield local


@pytest.fixture(scope="module")
def world(local_aws: LocalAws) -> Scenario:
    return Scenario(local_aws.info, say=lambda message: None)


def refused(call: Any, **kwargs: Any) -> str:
    """The call must be refused by authorization; returns the error code."""
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    code = str(err.value.response["Error"]["Code"])
    assert code in ("AccessDeniedException", "AccessDenied", "403"), err.value.response["Error"]
    return code


def sagemaker_as(world: Scenario, account: str, role_arn: str, name: str) -> Any:
    return world.client(world.assume(account, role_arn, name), "sagemaker")


def fraud_publisher(world: Scenario) -> Any:
    return sagemaker_as(world, FRAUD_ACCOUNT, world.info["roles"]["fraud"]["publisher"], "mallory")


def fraud_approver(world: Scenario) -> Any:
    return sagemaker_as(world, FRAUD_APPROVER_ACCOUNT, world.info["roles"]["fraud"]["approver"], "alice")


def recsys_publisher(world: Scenario) -> Any:
    """recsys's roles trust only its people's roles: a data scientist's session first."""
    return world.client(world.as_team("recsys", "publisher", "mallory"), "sagemaker")


def recsys_approver(world: Scenario) -> Any:
    """... and a release manager's for the approver role."""
    return world.client(world.as_team("recsys", "approver", "alice"), "sagemaker")


def pipeline_session(world: Scenario) -> Any:
    """A session of the fraud team's pipeline role in the team account, as SageMaker jobs act with it."""
    creds = service_role_credentials(
        f"arn:aws:iam::{FRAUD_ACCOUNT}:role/mlops-fraud-pipeline",
        service="sagemaker.amazonaws.com",
        session_name="pipelines-exec",
        region=REGION,
    )
    return boto3.session.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        region_name=REGION,
    )


def pipeline_role(world: Scenario) -> Any:
    """The fraud team's pipeline role in the team account, as SageMaker Pipelines would act with it."""
    return world.client(pipeline_session(world), "sagemaker")


def drained(world: Scenario) -> None:
    """Wait until the deployer has handled every queued event."""
    sqs = world.registry("sqs")
    counters = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]

    def empty() -> bool:
        attributes = sqs.get_queue_attributes(QueueUrl=world.info["queue_url"], AttributeNames=counters)
        return all(attributes["Attributes"][c] == "0" for c in counters)

    world.wait("the deployer queue is drained", empty)


def endpoint(world: Scenario, account: str, name: str) -> dict[str, Any] | None:
    try:
        return dict(world.client(world.admin(account), "sagemaker").describe_endpoint(EndpointName=name))
    except ClientError:
        return None


# --- 1. registration straight into a lifecycle stage ----------------------------------------------


def test_publisher_cannot_register_straight_into_production(world: Scenario) -> None:
    publisher = fraud_publisher(world)
    refused(
        publisher.create_model_package,
        ModelPackageGroupName="fraud-detector",
        ModelApprovalStatus="PendingManualApproval",
        ModelLifeCycle=PRODUCTION,
        InferenceSpecification=spec(),
    )
    # the legitimate registration (pending, no stage) works with the same role
    arn = publisher.create_model_package(
        ModelPackageGroupName="fraud-detector",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=spec(),
    )["ModelPackageArn"]
    assert world.registry("sagemaker").describe_model_package(ModelPackageName=arn)[
        "ModelApprovalStatus"
    ] == ("PendingManualApproval")


def test_team_account_cannot_register_into_a_stage_cross_account(world: Scenario) -> None:
    """Straight from the team account (no publisher role): only the group resource policy decides."""
    team_admin = world.client(world.admin(FRAUD_ACCOUNT), "sagemaker")
    for attempt in (
        {"ModelApprovalStatus": "PendingManualApproval", "ModelLifeCycle": PRODUCTION},
        {"ModelApprovalStatus": "Approved"},
    ):
        refused(
            team_admin.create_model_package,
            ModelPackageGroupName=FRAUD_GROUP,
            InferenceSpecification=spec(),
            **attempt,
        )


def test_the_team_pipeline_registers_cross_account_but_never_into_a_stage(world: Scenario) -> None:
    pipeline = pipeline_role(world)
    refused(
        pipeline.create_model_package,
        ModelPackageGroupName=FRAUD_GROUP,
        ModelApprovalStatus="PendingManualApproval",
        ModelLifeCycle=PRODUCTION,
        InferenceSpecification=spec("fraud/pipelines/run-1"),
    )
    refused(
        pipeline.create_model_package,
        ModelPackageGroupName=FRAUD_GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification=spec("fraud/pipelines/run-1"),
    )
    arn = pipeline.create_model_package(
        ModelPackageGroupName=FRAUD_GROUP,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=spec("fraud/pipelines/run-1"),
    )["ModelPackageArn"]
    assert arn.startswith(f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package/fraud-detector/")


# --- 2. a stage alone does not deploy -------------------------------------------------------------


def test_a_production_stage_without_approval_does_not_deploy(world: Scenario) -> None:
    """recommender-prod follows Production. A version staged Production but not Approved, or Approved
    but with StageStatus PendingApproval, must not reach it; approved + Production/Approved does."""
    publisher, approver = recsys_publisher(world), recsys_approver(world)
    unapproved = publisher.create_model_package(
        ModelPackageGroupName="recommender",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=spec("recsys/recommender/unapproved"),
    )["ModelPackageArn"]
    approver.update_model_package(ModelPackageArn=unapproved, ModelLifeCycle=PRODUCTION)
    pending_stage = publisher.create_model_package(
        ModelPackageGroupName="recommender",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=spec("recsys/recommender/pending-stage"),
    )["ModelPackageArn"]
    approver.update_model_package(ModelPackageArn=pending_stage, ModelApprovalStatus="Approved")
    approver.update_model_package(
        ModelPackageArn=pending_stage,
        ModelLifeCycle={"Stage": "Production", "StageStatus": "PendingApproval"},
    )
    drained(world)
    assert endpoint(world, REGISTRY, "recommender-prod") is None

    approver.update_model_package(ModelPackageArn=pending_stage, ModelLifeCycle=PRODUCTION)
    created = world.wait(
        "recommender-prod InService",
        lambda: (
            (ep := endpoint(world, REGISTRY, "recommender-prod")) is not None
            and ep["EndpointStatus"] == "InService"
            and ep
        ),
    )
    sm = world.registry("sagemaker")
    config = sm.describe_endpoint_config(EndpointConfigName=created["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    containers = model.get("Containers") or [model["PrimaryContainer"]]
    assert containers[0]["ModelPackageName"] == pending_stage


# --- 8. foreign events --------------------------------------------------------------------------


def test_a_same_named_group_in_another_account_does_not_deploy(world: Scenario) -> None:
    """An account that is not the registry creates its own 'fraud-detector' group and approves a
    version: nothing reaches fraud-detector-prod and the ledger records nothing about it."""
    foreign = world.client(world.admin(RECSYS_ACCOUNT), "sagemaker")
    foreign.create_model_package_group(ModelPackageGroupName="fraud-detector")
    arn = foreign.create_model_package(
        ModelPackageGroupName="fraud-detector",
        ModelApprovalStatus="Approved",
        InferenceSpecification=spec("elsewhere"),
    )["ModelPackageArn"]
    assert f":{RECSYS_ACCOUNT}:" in arn
    drained(world)
    assert all(e.get("model_package_arn") != arn for e in world.ledger())
    live = endpoint(world, SERVING, "fraud-detector-prod")
    assert live is None or world.served_version() is None or f":{RECSYS_ACCOUNT}:" not in str(live)


# --- trust policies -------------------------------------------------------------------------------


def test_another_teams_account_cannot_assume_the_publisher_or_approver_role(world: Scenario) -> None:
    sts = world.client(world.admin(RECSYS_ACCOUNT), "sts")
    for role in ("publisher", "approver"):
        refused(sts.assume_role, RoleArn=world.info["roles"]["fraud"][role], RoleSessionName="mallory")


def test_the_team_account_cannot_assume_the_approver_role(world: Scenario) -> None:
    """fraud approves from a separate governance account: its data scientists cannot approve."""
    sts = world.client(world.admin(FRAUD_ACCOUNT), "sts")
    refused(sts.assume_role, RoleArn=world.info["roles"]["fraud"]["approver"], RoleSessionName="mallory")
    sts = world.client(world.admin(FRAUD_APPROVER_ACCOUNT), "sts")
    assert sts.assume_role(RoleArn=world.info["roles"]["fraud"]["approver"], RoleSessionName="alice")


# --- 4. separation of duties inside one account -------------------------------------------------


def recsys_version(world: Scenario, session: Any, prefix: str) -> str:
    return str(
        world.client(session, "sagemaker").create_model_package(
            ModelPackageGroupName="recommender",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification=spec(prefix),
        )["ModelPackageArn"]
    )


def test_a_data_scientist_cannot_assume_the_approver_role_of_a_same_account_team(world: Scenario) -> None:
    """recsys publishes and approves in one account (555555555555). Its approver role trusts only
    principals matching role/recsys-release-manager* (aws:PrincipalArn), its publisher role only
    role/recsys-data-scientist*. The data scientist's own role may assume any mlops role, so the
    approver role's trust policy is what refuses it."""
    roles = world.info["roles"]["recsys"]
    scientist = world.person("recsys", "publisher", "mallory")
    assert world.client(scientist, "sts").get_caller_identity()["Arn"] == (
        f"arn:aws:sts::{RECSYS_ACCOUNT}:assumed-role/recsys-data-scientist/mallory"
    )
    refused(world.client(scientist, "sts").assume_role, RoleArn=roles["approver"], RoleSessionName="mallory")
    # what the data scientist may do: register, pending
    arn = recsys_version(
        world, world.assume_from(scientist, roles["publisher"], "mallory"), "recsys/recommender/sod"
    )
    described = world.registry("sagemaker").describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"


def test_the_release_manager_approves_but_cannot_publish(world: Scenario) -> None:
    roles = world.info["roles"]["recsys"]
    arn = recsys_version(
        world, world.as_team("recsys", "publisher", "dana"), "recsys/recommender/sod-approved"
    )
    manager = world.person("recsys", "approver", "alice")
    refused(world.client(manager, "sts").assume_role, RoleArn=roles["publisher"], RoleSessionName="alice")
    approver = world.client(world.assume_from(manager, roles["approver"], "alice"), "sagemaker")
    approver.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    described = world.registry("sagemaker").describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"


def test_no_other_principal_of_the_team_account_assumes_either_role(world: Scenario) -> None:
    """The account's admin user, and a role of the account that matches neither pattern (an
    administrator's, allowed everything by its own policy), are refused by both trust policies."""
    roles = world.info["roles"]["recsys"]
    iam = world.client(world.admin(RECSYS_ACCOUNT), "iam")
    admin_arn = world.client(world.admin(RECSYS_ACCOUNT), "sts").get_caller_identity()["Arn"]
    other = iam.create_role(
        RoleName="recsys-platform-admin",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="recsys-platform-admin",
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    for session in (world.admin(RECSYS_ACCOUNT), world.assume(RECSYS_ACCOUNT, other, "mallory")):
        sts = world.client(session, "sts")
        for duty in ("publisher", "approver"):
            refused(sts.assume_role, RoleArn=roles[duty], RoleSessionName="mallory")


def test_the_approver_approves(world: Scenario) -> None:
    arn = fraud_publisher(world).create_model_package(
        ModelPackageGroupName="fraud-detector",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=spec("fraud/fraud-detector/v9"),
    )["ModelPackageArn"]
    refused(fraud_publisher(world).update_model_package, ModelPackageArn=arn, ModelApprovalStatus="Approved")
    fraud_approver(world).update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    described = world.registry("sagemaker").describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"


# --- 3. who may set which stage -------------------------------------------------------------------


def test_only_the_stage_approver_moves_a_version_to_production(world: Scenario) -> None:
    """config/example.yaml: fraud's Production belongs to the production (serving) account. The team's
    approver approves and sets other stages; the Production approver sets Production and cannot approve."""
    arn = fraud_publisher(world).create_model_package(
        ModelPackageGroupName="fraud-detector",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=spec("fraud/fraud-detector/staged"),
    )["ModelPackageArn"]
    approver = fraud_approver(world)
    refused(approver.update_model_package, ModelPackageArn=arn, ModelLifeCycle=PRODUCTION)
    approver.update_model_package(
        ModelPackageArn=arn, ModelLifeCycle={"Stage": "Staging", "StageStatus": "Approved"}
    )
    release_role = f"arn:aws:iam::{REGISTRY}:role/mlops-fraud-Production-approver"
    for outsider in (FRAUD_ACCOUNT, FRAUD_APPROVER_ACCOUNT, RECSYS_ACCOUNT):
        refused(
            world.client(world.admin(outsider), "sts").assume_role,
            RoleArn=release_role,
            RoleSessionName="mallory",
        )
    release = sagemaker_as(world, SERVING, release_role, "release-manager")
    refused(release.update_model_package, ModelPackageArn=arn, ModelApprovalStatus="Approved")
    refused(
        release.update_model_package,
        ModelPackageArn=arn,
        ModelLifeCycle={"Stage": "Staging", "StageStatus": "Approved"},
    )
    release.update_model_package(ModelPackageArn=arn, ModelLifeCycle=PRODUCTION)
    described = world.registry("sagemaker").describe_model_package(ModelPackageName=arn)
    assert described["ModelLifeCycle"]["Stage"] == "Production"
    assert described["ModelApprovalStatus"] == "PendingManualApproval"


# --- 7. serving least privilege -------------------------------------------------------------------


def deployment_of(world: Scenario, endpoint: str) -> dict[str, Any]:
    return dict(next(d for d in world.info["deployments"] if d["endpoint"] == endpoint))


def deploy_access(world: Scenario) -> Any:
    """The deployer's path into the serving account: its own role (as Lambda runs it), then the
    serving account's deploy-access role, which trusts only that role."""
    deployer = service_role_credentials(
        f"arn:aws:iam::{REGISTRY}:role/mlops-deployer",
        service="lambda.amazonaws.com",
        session_name="mlops-deployer",
        region=REGION,
    )
    session = boto3.session.Session(
        aws_access_key_id=deployer.access_key_id,
        aws_secret_access_key=deployer.secret_access_key,
        aws_session_token=deployer.session_token,
        region_name=REGION,
    )
    creds = world.client(session, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{SERVING}:role/mlops-deploy-access", RoleSessionName="mlops-deployer"
    )["Credentials"]
    serving = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )
    return world.client(serving, "sagemaker")


def test_only_the_deploy_access_role_creates_models_from_versions(world: Scenario) -> None:
    """Any other principal of the serving account (here its administrator) is refused CreateModel by the
    group policy, for a pending and for a rejected version alike (describing versions stays open to the
    organization: discovery); the deploy-access role, reached through the
    deployer's own role, creates a model from the same group (cross-account CreateModel needs the group
    policy's DescribeModelPackage and CreateModel on the version:
    https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-deploy-xaccount.html)."""
    publisher, approver = fraud_publisher(world), fraud_approver(world)
    pending = publisher.create_model_package(
        ModelPackageGroupName="fraud-detector",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=spec("fraud/fraud-detector/pending"),
    )["ModelPackageArn"]
    rejected = publisher.create_model_package(
        ModelPackageGroupName="fraud-detector",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=spec("fraud/fraud-detector/rejected"),
    )["ModelPackageArn"]
    approver.update_model_package(ModelPackageArn=rejected, ModelApprovalStatus="Rejected")
    serving_admin = world.client(world.admin(SERVING), "sagemaker")
    execution_role = deployment_of(world, "fraud-detector-prod")["execution_role_arn"]
    for arn in (pending, rejected):
        refused(
            serving_admin.create_model,
            ModelName="stolen-version",
            ExecutionRoleArn=execution_role,
            Containers=[{"ModelPackageName": arn}],
        )

    deployer = deploy_access(world)
    deployer.create_model(
        ModelName="fraud-detector-prod-access-check",
        ExecutionRoleArn=execution_role,
        Containers=[{"ModelPackageName": pending}],
        EnableNetworkIsolation=True,
    )
    model = world.client(world.admin(SERVING), "sagemaker").describe_model(
        ModelName="fraud-detector-prod-access-check"
    )
    assert model["Containers"][0]["ModelPackageName"] == pending
    # it passes only the execution roles of the teams served in this account
    refused(
        deployer.create_model,
        ModelName="fraud-detector-prod-other-role",
        ExecutionRoleArn=f"arn:aws:iam::{SERVING}:role/mlops-deploy-access",
        Containers=[{"ModelPackageName": pending}],
    )
    # the deploy-access role itself may name only the managed endpoints' models
    refused(
        deployer.create_model,
        ModelName="anything-else",
        ExecutionRoleArn=execution_role,
        Containers=[{"ModelPackageName": pending}],
    )


def as_sagemaker(world: Scenario, role_arn: str) -> Any:
    """A boto3 session of ``role_arn`` as SageMaker gets it for a model's containers (its execution role)."""
    creds = service_role_credentials(
        role_arn, service="sagemaker.amazonaws.com", session_name="model-container", region=REGION
    )
    return boto3.session.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        region_name=REGION,
    )


def test_a_teams_execution_role_reads_only_its_teams_artifacts(world: Scenario) -> None:
    """A fraud model whose ModelDataUrl points at the recsys team's prefix: SageMaker downloads it with
    the fraud deployment's execution role, which may read only s3://<bucket>/fraud/."""
    fraud_key, recsys_key = "fraud/fraud-detector/exec/model.tar.gz", "recsys/recommender/exec/model.tar.gz"
    world.client(
        world.assume(FRAUD_ACCOUNT, world.info["roles"]["fraud"]["publisher"], "ds"), "s3"
    ).put_object(Bucket=BUCKET, Key=fraud_key, Body=b"fraud weights", IfNoneMatch="*")
    world.client(world.as_team("recsys", "publisher", "ds"), "s3").put_object(
        Bucket=BUCKET, Key=recsys_key, Body=b"recsys weights", IfNoneMatch="*"
    )
    fraud_role = deployment_of(world, "fraud-detector-prod")["execution_role_arn"]
    s3 = world.client(as_sagemaker(world, fraud_role), "s3")
    assert s3.get_object(Bucket=BUCKET, Key=fraud_key)["Body"].read() == b"fraud weights"
    refused(s3.get_object, Bucket=BUCKET, Key=recsys_key)
    # the recsys deployment's own role reads its team's model
    recsys_role = deployment_of(world, "recommender-prod")["execution_role_arn"]
    recsys = world.client(as_sagemaker(world, recsys_role), "s3")
    assert recsys.get_object(Bucket=BUCKET, Key=recsys_key)["Body"].read() == b"recsys weights"
    refused(recsys.get_object, Bucket=BUCKET, Key=fraud_key)


def test_execution_roles_pull_images_only_from_the_allowed_accounts(world: Scenario) -> None:
    """recommender-prod (registry account) may pull images of recsys's allowed accounts (its team's
    account, the registry account, SageMaker's own): an image in the fraud team's account or any other
    account is refused to its execution role, whatever a version names."""
    world.client(world.admin(REGISTRY), "ecr").create_repository(repositoryName="recommender-inference")
    world.client(world.admin(FRAUD_ACCOUNT), "ecr").create_repository(repositoryName="fraud-inference")
    role = deployment_of(world, "recommender-prod")["execution_role_arn"]
    ecr = world.client(as_sagemaker(world, role), "ecr")
    found = ecr.batch_get_image(repositoryName="recommender-inference", imageIds=[{"imageTag": "1"}])
    assert found["images"] == []  # authorized (the tag does not exist)
    for account, repository in ((FRAUD_ACCOUNT, "fraud-inference"), ("999999999999", "miner")):
        refused(
            ecr.batch_get_image, registryId=account, repositoryName=repository, imageIds=[{"imageTag": "1"}]
        )
        refused(
            ecr.get_download_url_for_layer,
            registryId=account,
            repositoryName=repository,
            layerDigest="sha256:" + "0" * 64,
        )


# --- 6. what a version runs -----------------------------------------------------------------------


def test_an_approved_version_with_a_foreign_image_is_refused_by_the_deployer(world: Scenario) -> None:
    """Approval cannot vouch for the bytes: the deployer refuses an image outside the allowed accounts
    and model data outside the team's prefix, with a failed ledger item naming the field."""
    publisher, approver = fraud_publisher(world), fraud_approver(world)
    foreign_image = publisher.create_model_package(
        ModelPackageGroupName="fraud-detector",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            **spec("fraud/fraud-detector/miner"),
            "Containers": [
                {
                    "Image": f"999999999999.dkr.ecr.{REGION}.amazonaws.com/miner:latest",
                    "ModelDataUrl": f"s3://{BUCKET}/fraud/fraud-detector/miner/model.tar.gz",
                }
            ],
        },
    )["ModelPackageArn"]
    approver.update_model_package(ModelPackageArn=foreign_image, ModelApprovalStatus="Approved")
    failed = world.wait(
        "the deployer refuses the foreign image",
        lambda: next(
            (
                e
                for e in world.ledger()
                if e.get("model_package_arn") == foreign_image and e["status"] == "failed"
            ),
            None,
        ),
    )
    assert "InferenceSpecification.Containers[0].Image" in failed["reason"]
    assert "999999999999" in failed["reason"]
    assert not any(
        e.get("model_package_arn") == foreign_image and e["status"] in ("in_progress", "live")
        for e in world.ledger()
    )

    other_team_data = publisher.create_model_package(
        ModelPackageGroupName="fraud-detector",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=spec("recsys/recommender/v1"),
    )["ModelPackageArn"]
    approver.update_model_package(ModelPackageArn=other_team_data, ModelApprovalStatus="Approved")
    failed = world.wait(
        "the deployer refuses model data of another team",
        lambda: next(
            (
                e
                for e in world.ledger()
                if e.get("model_package_arn") == other_team_data and e["status"] == "failed"
            ),
            None,
        ),
    )
    assert "ModelDataUrl" in failed["reason"] and "/fraud/" in failed["reason"]


# --- 5. approved artifacts are write-once ---------------------------------------------------------


def s3_refused(call: Any, **kwargs: Any) -> int:
    """The write must fail: 403 (the bucket policy) or 412 (If-None-Match on an existing key)."""
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    code = int(err.value.response["ResponseMetadata"]["HTTPStatusCode"])
    assert code in (403, 412), err.value.response
    return code


def test_an_approved_artifact_cannot_be_overwritten(world: Scenario) -> None:
    """The publisher uploads and registers, the approver approves; then the publisher (or the team
    pipeline's role, cross-account) tries to replace the approved model.tar.gz: refused, with and
    without If-None-Match; the approved bytes are still there."""
    key = "fraud/fraud-detector/write-once/model.tar.gz"
    session = world.assume(FRAUD_ACCOUNT, world.info["roles"]["fraud"]["publisher"], "mallory")
    s3 = world.client(session, "s3")
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"approved weights", IfNoneMatch="*")
    arn = world.client(session, "sagemaker").create_model_package(
        ModelPackageGroupName="fraud-detector",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=spec("fraud/fraud-detector/write-once"),
    )["ModelPackageArn"]
    fraud_approver(world).update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    assert s3_refused(s3.put_object, Bucket=BUCKET, Key=key, Body=b"backdoor") == 403
    assert s3_refused(s3.put_object, Bucket=BUCKET, Key=key, Body=b"backdoor", IfNoneMatch="*") == 412
    pipeline_s3 = world.client(pipeline_session(world), "s3")
    assert (
        s3_refused(pipeline_s3.put_object, Bucket=BUCKET, Key=key.replace("fraud-detector/", ""), Body=b"x")
        == 403
    )
    registry_s3 = world.registry("s3")
    assert registry_s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"approved weights"


def test_the_team_pipeline_writes_new_artifacts_once(world: Scenario) -> None:
    """The pipeline role's release of a new artifact (If-None-Match, the artifact key) works; rewriting
    it does not, not even by a multipart upload."""
    s3 = world.client(pipeline_session(world), "s3")
    key = "fraud/releases/run-7/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"run 7", IfNoneMatch="*")
    assert s3_refused(s3.put_object, Bucket=BUCKET, Key=key, Body=b"run 8") == 403
    started = s3.create_multipart_upload(Bucket=BUCKET, Key=key)
    part = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=started["UploadId"], PartNumber=1, Body=b"run 8")
    assert (
        s3_refused(
            s3.complete_multipart_upload,
            Bucket=BUCKET,
            Key=key,
            UploadId=started["UploadId"],
            MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
        )
        == 403
    )
    assert world.registry("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"run 7"


def test_artifacts_are_written_with_the_artifact_key_only(world: Scenario) -> None:
    session = world.assume(FRAUD_ACCOUNT, world.info["roles"]["fraud"]["publisher"], "mallory")
    s3 = world.client(session, "s3")
    for encryption in (
        {"ServerSideEncryption": "AES256"},
        {"ServerSideEncryption": "aws:kms"},  # no key id: S3 would use the AWS managed key aws/s3
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": f"arn:aws:kms:{REGION}:{FRAUD_ACCOUNT}:key/mine"},
    ):
        assert (
            s3_refused(
                s3.put_object,
                Bucket=BUCKET,
                Key="fraud/fraud-detector/own-key/model.tar.gz",
                Body=b"x",
                IfNoneMatch="*",
                **encryption,
            )
            == 403
        )


# --- 6. what was approved is what runs --------------------------------------------------------------


def endpoint_ledger(world: Scenario, endpoint_id: str) -> list[dict[str, Any]]:
    items = world.registry("dynamodb").query(
        TableName=world.info["ledger_table"],
        KeyConditionExpression="endpoint_id = :e",
        ExpressionAttributeValues={":e": {"S": endpoint_id}},
    )["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]


def test_a_specification_rewritten_after_approval_is_refused(world: Scenario) -> None:
    """The approver approves a version, then rewrites its inference specification with UpdateModelPackage
    (the API accepts it at any status) and moves it to Production: the deployer refuses it (ledger
    failed, the reason names the field) and recommender-prod keeps serving what it served."""
    publisher, approver = recsys_publisher(world), recsys_approver(world)
    arn = publisher.create_model_package(
        ModelPackageGroupName="recommender",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification=spec("recsys/recommender/reviewed"),
    )["ModelPackageArn"]
    approver.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    drained(world)
    pin = endpoint_ledger(world, f"approval/{arn}")
    assert len(pin) == 1 and "recsys/recommender/reviewed" in pin[0]["inference_specification"]

    approver.update_model_package(
        ModelPackageArn=arn, InferenceSpecification=spec("recsys/recommender/swapped")
    )
    before = endpoint(world, REGISTRY, "recommender-prod")
    approver.update_model_package(ModelPackageArn=arn, ModelLifeCycle=PRODUCTION)
    failed = world.wait(
        "the deployer refuses the rewritten version",
        lambda: next(
            (
                e
                for e in endpoint_ledger(world, f"{REGISTRY}/{REGION}/recommender-prod")
                if e.get("model_package_arn") == arn and e["status"] == "failed"
            ),
            None,
        ),
    )
    assert "InferenceSpecification.Containers[0].ModelDataUrl" in failed["reason"]
    assert "swapped" in failed["reason"] and "changed after approval" in failed["reason"]
    after = endpoint(world, REGISTRY, "recommender-prod")
    assert (after or {}).get("EndpointConfigName") == (before or {}).get("EndpointConfigName")
    assert not any(
        e.get("model_package_arn") == arn and e["status"] in ("in_progress", "live")
        for e in endpoint_ledger(world, f"{REGISTRY}/{REGION}/recommender-prod")
    )
    # the approver cannot rewrite the pin: its ledger writes are limited to its endpoints' partitions
    approver_ddb = world.client(world.as_team("recsys", "approver", "alice"), "dynamodb")
    refused(
        approver_ddb.put_item,
        TableName=world.info["ledger_table"],
        Item={
            "endpoint_id": {"S": f"approval/{arn}"},
            "at": {"S": "0000"},
            "inference_specification": {"S": "{}"},
        },
    )
