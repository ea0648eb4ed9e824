"""Artifact bucket and its customer-managed KMS key in the registry account."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from pipelines.team_pipeline.template import RELEASES
from stacks.constructs.access_logs import access_log_bucket
from stacks.constructs.names import ARTIFACT_KEY_ALIAS, TEAM_TAG, artifact_bucket_name, pipeline_role_name


def _sid(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


class ArtifactStore(Construct):
    """Versioned, KMS-encrypted, TLS-only bucket for model artifacts, retained when the stack is deleted.

    `reader_accounts` are serving accounts whose team execution roles (named by `reader_role_pattern`) may
    read and decrypt the artifacts of their own team's prefix. They are granted through the account
    principal plus an `aws:PrincipalArn` condition, so the roles need not exist yet when this stack deploys.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        reader_accounts: Sequence[str] = (),
        reader_role_pattern: str = "",
        organization_id: str | None = None,
        pipeline_writers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=ARTIFACT_KEY_ALIAS,
            description="Encrypts model artifacts of the central model registry",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.access_logs = access_log_bucket(self, "AccessLogs")
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=artifact_bucket_name(Stack.of(self).account, Stack.of(self).region),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
        )
        self._require_write_once_with_the_key()
        if reader_accounts:
            self._grant_cross_account_read(sorted(set(reader_accounts)), reader_role_pattern, organization_id)
        if pipeline_writers:
            self._grant_pipeline_writes(sorted(pipeline_writers), organization_id)

    def _require_write_once_with_the_key(self) -> None:
        """Every object is written once, encrypted with the artifact key (issue 9, finding 5).

        An approved version names its model data by URL; if the object under that URL could be
        replaced, approval would not pin the bytes that run (SageMaker reads the object again whenever
        an endpoint launches an instance). So no principal, the registry account's own included, may
        write an object without ``If-None-Match: *``: S3 then creates the key only if it does not exist
        and answers 412 otherwise. ``s3:ObjectCreationOperation`` exempts CreateMultipartUpload and
        UploadPart, which carry no conditional header; the completion must carry it
        (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html).
        Writers that cannot send the header (SageMaker training and processing outputs) write to their
        own bucket; the team pipeline's Release step copies the model into this bucket (pipelines/README.md).
        No role is granted s3:DeleteObject, so a key cannot be freed and written again.

        A write may name no key but the artifact key: without encryption headers the bucket's default
        (this key) applies; ``aws:kms`` without a key id would use the AWS managed key ``aws/s3``, and
        another key id or algorithm would put the object out of this key policy's control
        (https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html; S3 compares the
        key id header as sent, so writers name the key by its ARN).
        """
        objects = self.bucket.arn_for_objects("*")
        kms_key_id = "s3:x-amz-server-side-encryption-aws-kms-key-id"
        encryption = "s3:x-amz-server-side-encryption"
        for sid, conditions in (
            (
                "ArtifactsAreWriteOnce",
                {"Null": {"s3:if-none-match": "true"}, "Bool": {"s3:ObjectCreationOperation": "true"}},
            ),
            (
                "ArtifactsUseTheArtifactKey",
                {"Null": {encryption: "false"}, "StringNotEqualsIfExists": {kms_key_id: self.key.key_arn}},
            ),
            (
                "ArtifactsAreKmsEncrypted",
                {"Null": {encryption: "false"}, "StringNotEquals": {encryption: "aws:kms"}},
            ),
        ):
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:PutObject"],
                    resources=[objects],
                    conditions=conditions,
                )
            )

    def _grant_pipeline_writes(self, writers: list[tuple[str, str]], organization_id: str | None) -> None:
        """Each team pipeline's role (in the team account) writes only its team's releases prefix."""
        stack = Stack.of(self)
        org = {"StringEquals": {"aws:PrincipalOrgID": organization_id}} if organization_id else {}
        role_arns = []
        for team, account in writers:
            role_arn = stack.format_arn(
                service="iam",
                region="",
                account=account,
                resource="role",
                resource_name=pipeline_role_name(team),
            )
            role_arns.append(role_arn)
            principal_is_role = {"ArnEquals": {"aws:PrincipalArn": role_arn}, **org}
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    # the pipeline's Release step uploads, write-once, under <team>/releases/ only
                    sid=f"Pipeline{_sid(team)}Objects",
                    principals=[iam.AccountPrincipal(account)],
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[self.bucket.arn_for_objects(f"{team}/{RELEASES}/*")],
                    conditions=principal_is_role,
                )
            )
        region = stack.region
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TeamPipelinesUseKeyThroughS3",
                principals=[iam.AccountPrincipal(a) for a in sorted({a for _, a in writers})],
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={
                    "ArnEquals": {"aws:PrincipalArn": role_arns},
                    "StringEquals": {
                        "kms:ViaService": [f"s3.{region}.amazonaws.com", f"sagemaker.{region}.amazonaws.com"],
                        **({"aws:PrincipalOrgID": organization_id} if organization_id else {}),
                    },
                },
            )
        )

    def _grant_cross_account_read(
        self, accounts: list[str], role_pattern: str, organization_id: str | None
    ) -> None:
        """Serving accounts' team execution roles (`role_pattern`, e.g. mlops-*-serving) read objects of their
        own team's prefix only: the object ARN holds the role's `mlops:team` tag as a policy variable
        (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html), one
        constant-size statement whatever the number of teams. A role without the tag matches nothing."""
        stack = Stack.of(self)
        bucket_name = artifact_bucket_name(stack.account, stack.region)
        role_patterns = [
            stack.format_arn(service="iam", region="", account=a, resource="role", resource_name=role_pattern)
            for a in accounts
        ]
        principal_is_role: dict[str, dict[str, object]] = {"ArnLike": {"aws:PrincipalArn": role_patterns}}
        org = {"aws:PrincipalOrgID": organization_id} if organization_id else {}
        principals: list[iam.IPrincipal] = [iam.AccountPrincipal(a) for a in accounts]
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ServingRolesReadTheirTeamsArtifacts",
                principals=principals,
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[self.bucket.arn_for_objects(f"${{aws:PrincipalTag/{TEAM_TAG}}}/*")],
                conditions={**principal_is_role, **({"StringEquals": org} if org else {})},
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ServingRolesDecryptArtifacts",
                principals=principals,
                actions=["kms:Decrypt"],
                resources=["*"],  # in a key policy "*" means this key
                # through S3 for this bucket only (with an S3 Bucket Key the encryption context is the bucket
                # ARN: https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-bucket-key.html)
                conditions={
                    **principal_is_role,
                    "StringEquals": {
                        **org,
                        "kms:ViaService": f"s3.{stack.region}.amazonaws.com",
                        # from the bucket's fixed name: the bucket's own ARN would make the key depend on it
                        "kms:EncryptionContext:aws:s3:arn": f"arn:{stack.partition}:s3:::{bucket_name}",
                    },
                },
            )
        )
