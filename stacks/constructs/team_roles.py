"""The two roles a team assumes in the registry account: publisher and approver."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from cdk_nag import NagSuppressions
from constructs import Construct

from stacks.constructs.deployments_catalog import catalog_read_statement
from stacks.constructs.names import approver_role_name, publisher_role_name, registration_conditions


def _trusted_by(account: str, organization_id: str | None) -> iam.IPrincipal:
    principal: iam.IPrincipal = iam.AccountPrincipal(account)
    if organization_id:
        principal = iam.PrincipalWithConditions(
            principal, {"StringEquals": {"aws:PrincipalOrgID": organization_id}}
        )
    return principal


# Each wildcard below is acknowledged by its exact finding, not per rule.
_WILDCARD_REASONS: list[dict[str, Any]] = [
    {
        "id": "AwsSolutions-IAM5",
        "reason": "Discovery: every team may browse every group and version of this registry (its purpose).",
        "applies_to": [
            {
                "regex": "/^Resource::arn:<AWS::Partition>:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package-group/\\*$/"
            },
            {"regex": "/^Resource::arn:<AWS::Partition>:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/\\*$/"},
        ],
    },
    {
        "id": "AwsSolutions-IAM5",
        "reason": "Versions get generated ARNs '<group>/<n>': writes are scoped to the team's own groups.",
        "applies_to": [
            {
                "regex": "/^Resource::arn:<AWS::Partition>:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[A-Za-z0-9-]+/\\*$/"
            },
        ],
    },
    {
        "id": "AwsSolutions-IAM5",
        "reason": "Artifacts: read/write only under the team's own prefix '<team>/' of the artifact bucket.",
        "applies_to": [{"regex": "/^Resource::.*\\/[a-z0-9-]+\\/\\*$/"}],
    },
    {
        "id": "AwsSolutions-IAM5",
        "reason": "sagemaker:ListModelPackageGroups supports no resource-level permissions: AWS requires '*'.",
        "applies_to": ["Resource::*"],
    },
]


class TeamRoles(Construct):
    """Publisher (register PendingManualApproval versions, write own artifacts) and approver (approve and
    stage versions) for one team. Separation of duties: the publisher has no UpdateModelPackage at all."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        team: str,
        account: str,
        approver_account: str,
        group_names: Sequence[str],
        artifact_bucket: s3.IBucket,
        artifact_key: kms.IKey,
        organization_id: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        group_arns = [
            stack.format_arn(service="sagemaker", resource="model-package-group", resource_name=g)
            for g in group_names
        ]
        version_arns = [
            stack.format_arn(service="sagemaker", resource="model-package", resource_name=f"{g}/*")
            for g in group_names
        ]
        discovery = self._discovery_statements(stack)

        self.publisher = iam.Role(
            self,
            "Publisher",
            role_name=publisher_role_name(team),
            description=f"Team {team}: register model versions (PendingManualApproval only) and browse the registry",
            assumed_by=_trusted_by(account, organization_id),
        )
        for statement in discovery:
            self.publisher.add_to_policy(statement)
        self.publisher.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterPendingVersionsInOwnGroups",
                actions=["sagemaker:CreateModelPackage"],
                resources=[*group_arns, *version_arns],
                conditions=registration_conditions(),
            )
        )
        self.publisher.add_to_policy(
            iam.PolicyStatement(
                sid="TagOwnVersionsOnCreate",
                actions=["sagemaker:AddTags"],
                resources=version_arns,
                conditions={"StringEquals": {"sagemaker:TaggingAction": "CreateModelPackage"}},
            )
        )
        prefix = f"{team}/"
        self.publisher.add_to_policy(
            iam.PolicyStatement(
                sid="ReadWriteOwnArtifactPrefix",
                actions=["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"],
                resources=[artifact_bucket.arn_for_objects(f"{prefix}*")],
            )
        )
        self.publisher.add_to_policy(
            iam.PolicyStatement(
                sid="ListOwnArtifactPrefix",
                actions=["s3:ListBucket"],
                resources=[artifact_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
            )
        )
        self.publisher.add_to_policy(
            iam.PolicyStatement(
                sid="EncryptArtifactsThroughS3",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[artifact_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            )
        )

        self.approver = iam.Role(
            self,
            "Approver",
            role_name=approver_role_name(team),
            description=f"Team {team}: approve, reject and stage model versions of its own groups",
            assumed_by=_trusted_by(approver_account, organization_id),
        )
        for statement in discovery:
            self.approver.add_to_policy(statement)
        self.approver.add_to_policy(
            iam.PolicyStatement(
                sid="ApproveAndStageOwnVersions",
                actions=["sagemaker:UpdateModelPackage"],
                resources=version_arns,
            )
        )

        for role in (self.publisher, self.approver):  # `mlops` and `mlops ui` list the managed endpoints
            role.add_to_policy(catalog_read_statement(stack))
        for role in (self.publisher, self.approver):
            NagSuppressions.add_resource_suppressions(role, _WILDCARD_REASONS, apply_to_children=True)

    @staticmethod
    def _discovery_statements(stack: Stack) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                sid="DiscoverGroups",
                actions=["sagemaker:DescribeModelPackageGroup", "sagemaker:ListTags"],
                resources=[
                    stack.format_arn(service="sagemaker", resource="model-package-group", resource_name="*")
                ],
            ),
            iam.PolicyStatement(
                sid="DiscoverVersions",
                actions=[
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:ListModelPackages",
                    "sagemaker:BatchDescribeModelPackage",
                ],
                resources=[
                    stack.format_arn(service="sagemaker", resource="model-package", resource_name="*")
                ],
            ),
            iam.PolicyStatement(
                sid="ListGroups",
                actions=["sagemaker:ListModelPackageGroups"],
                resources=["*"],  # ListModelPackageGroups has no resource type: AWS requires "*"
            ),
        ]
