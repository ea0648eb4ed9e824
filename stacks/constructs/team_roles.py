"""The two roles a team assumes in the registry account: publisher and approver."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam
from cdk_nag import NagSuppressions
from constructs import Construct

from stacks.constructs.deployments_catalog import catalog_read_data
from stacks.constructs.names import (
    LEDGER_TABLE_NAME,
    LIFECYCLE_STAGE_KEY,
    approver_role_name,
    publisher_role_name,
    registration_conditions,
)
from stacks.constructs.policy_data import (
    ArnParts,
    PlainRole,
    attach_default_policy,
    statement,
    trust_statement,
)


def _trust_conditions(organization_id: str | None, principal_patterns: Sequence[str] = ()) -> dict[str, Any]:
    """Only principals of the organization, narrowed to those matching ``principal_patterns``
    (aws:PrincipalArn) when given: separation of duties inside one account is decided in the trust policy."""
    conditions: dict[str, Any] = {}
    if organization_id:
        conditions["StringEquals"] = {"aws:PrincipalOrgID": organization_id}
    if principal_patterns:
        conditions["ArnLike"] = {"aws:PrincipalArn": list(principal_patterns)}
    return conditions


def _trusted_by(
    account: str, organization_id: str | None, principal_patterns: Sequence[str] = ()
) -> iam.IPrincipal:
    """:func:`_trust_conditions` on the account as a principal object (stage approvers: several of them)."""
    principal: iam.IPrincipal = iam.AccountPrincipal(account)
    if conditions := _trust_conditions(organization_id, principal_patterns):
        principal = iam.PrincipalWithConditions(principal, conditions)
    return principal


def stage_approver_role_name(team: str, stage: str) -> str:
    """``mlops-<team>-<stage>-approver``, shortened with a hash to IAM's 64 characters when needed."""
    name = f"mlops-{team}-{stage}-approver"
    if len(name) <= 64:
        return name
    digest = hashlib.sha256(stage.encode()).hexdigest()[:8]
    return f"mlops-{team}-{stage[: 64 - len(team) - 25]}-{digest}-approver"


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
        artifact_bucket_arn: str,
        artifact_key_arn: str,
        organization_id: str | None,
        publisher_principals: Sequence[str] = (),
        approver_principals: Sequence[str] = (),
        stage_approvers: Sequence[tuple[str, Sequence[str]]] = (),
        ledger_endpoint_ids: Sequence[str] = (),
        arn_parts: ArnParts | None = None,
        path: Sequence[str] | None = None,
    ) -> None:
        """``path``: construct ids from below the stack to ``scope`` (computed when not given)."""
        super().__init__(scope, construct_id)
        own_path = [*(path if path is not None else scope.node.path.split("/")[1:]), construct_id]
        if approver_account == account and not approver_principals:
            Annotations.of(self).add_warning_v2(
                "mlops:SeparationOfDuties",
                f"team {team}: the publisher and approver roles trust the same account {account} and "
                "nothing narrows the approver role, so one person can publish and approve. Set "
                f"teams.{team}.approver_principals (and publisher_principals), or a separate approver_account.",
            )
        arns = arn_parts or ArnParts.of(Stack.of(self))
        group_arns = [arns.arn("sagemaker", "model-package-group", g) for g in group_names]
        version_arns = [arns.arn("sagemaker", "model-package", f"{g}/*") for g in group_names]
        discovery = self._discovery_statements(arns)
        catalog = catalog_read_data(arns)

        prefix = f"{team}/"
        bucket_arn = artifact_bucket_arn
        key_arn = artifact_key_arn
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{arns.region}.amazonaws.com"}}
        publisher = [
            *discovery,
            statement(
                "RegisterPendingVersionsInOwnGroups",
                ["sagemaker:CreateModelPackage"],
                [*group_arns, *version_arns],
                registration_conditions(),
            ),
            statement(
                "TagOwnVersionsOnCreate",
                ["sagemaker:AddTags"],
                version_arns,
                {"StringEquals": {"sagemaker:TaggingAction": "CreateModelPackage"}},
            ),
            statement(
                "ReadWriteOwnArtifactPrefix",
                ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"],
                [f"{bucket_arn}/{prefix}*"],
            ),
            statement(
                "ListOwnArtifactPrefix",
                ["s3:ListBucket"],
                [bucket_arn],
                {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
            ),
            statement("EncryptArtifactsThroughS3", ["kms:GenerateDataKey", "kms:Decrypt"], [key_arn], via_s3),
        ]

        reserved = [stage for stage, _ in stage_approvers]
        approver = [
            *discovery,
            statement(
                "ApproveAndStageOwnVersions",
                ["sagemaker:UpdateModelPackage"],
                version_arns,
                # stages with their own approvers (stage_approvers) are theirs alone; the key is absent
                # when a request sets no stage, so approving and rejecting stay allowed
                {"StringNotEqualsIfExists": {LIFECYCLE_STAGE_KEY: reserved}} if reserved else None,
            ),
        ]
        # `mlops` and `mlops ui` list the managed endpoints
        publisher.append(catalog)
        approver.append(catalog)

        self._grant_operator_reads(arns, team, publisher, approver, bucket_arn, key_arn, ledger_endpoint_ids)
        self.publisher = PlainRole.create(
            self,
            "Publisher",
            path=own_path,
            role_name=publisher_role_name(team),
            description=f"Team {team}: register model versions (PendingManualApproval only) and browse the registry",
            trust=trust_statement(
                arns.account_root(account), _trust_conditions(organization_id, publisher_principals)
            ),
            statements=publisher,
        )
        self.approver = PlainRole.create(
            self,
            "Approver",
            path=own_path,
            role_name=approver_role_name(team),
            description=f"Team {team}: approve, reject and stage model versions of its own groups",
            trust=trust_statement(
                arns.account_root(approver_account), _trust_conditions(organization_id, approver_principals)
            ),
            statements=approver,
        )

        self.stage_approvers: dict[str, iam.Role] = {}
        for stage, approvers in stage_approvers:
            self.stage_approvers[stage] = self._stage_approver(
                Stack.of(self), team, stage, approvers, version_arns, [*discovery], catalog, organization_id
            )
        for role in (self.publisher.scope, self.approver.scope, *self.stage_approvers.values()):
            NagSuppressions.add_resource_suppressions(role, _WILDCARD_REASONS, apply_to_children=True)

    @staticmethod
    def _grant_operator_reads(
        arns: ArnParts,
        team: str,
        publisher: list[dict[str, Any]],
        approver: list[dict[str, Any]],
        bucket_arn: str,
        key_arn: str,
        endpoint_ids: Sequence[str],
    ) -> None:
        """What the `mlops` verbs of a team need beyond discovery, and no more.

        - both roles: the ledger entries of the endpoints that follow the team's groups (`history`,
          `status`, `show`, `rollback`): dynamodb:Query, limited by dynamodb:LeadingKeys to those
          endpoints' partition keys (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
          Only Query: a Scan has no leading key, so ForAllValues would not limit it.
        - approver: dynamodb:PutItem on the same partition keys, for `mlops retry` (the `requested` entry).
        - approver: the team's evaluation reports (`versions`, `compare`, `show`): s3:GetObject under
          the team's prefix and kms:Decrypt through S3 (the publisher already reads and writes there).
        """
        if endpoint_ids:
            table = arns.arn("dynamodb", "table", LEDGER_TABLE_NAME)
            own_endpoints = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": sorted(endpoint_ids)}}
            for statements in (publisher, approver):
                statements.append(
                    statement("ReadOwnEndpointsLedger", ["dynamodb:Query"], [table], own_endpoints)
                )
            approver.append(
                statement("RequestRetryOfOwnEndpoints", ["dynamodb:PutItem"], [table], own_endpoints)
            )
        approver.append(
            statement(
                "ReadOwnEvaluationReports",
                ["s3:GetObject", "s3:GetObjectVersion"],
                [f"{bucket_arn}/{team}/*"],
            )
        )
        approver.append(
            statement(
                "DecryptOwnReportsThroughS3",
                ["kms:Decrypt"],
                [key_arn],
                {"StringEquals": {"kms:ViaService": f"s3.{arns.region}.amazonaws.com"}},
            )
        )

    def _stage_approver(
        self,
        stack: Stack,
        team: str,
        stage: str,
        approvers: Sequence[str],
        version_arns: list[str],
        discovery: list[dict[str, Any]],
        catalog: dict[str, Any],
        organization_id: str | None,
    ) -> iam.Role:
        """A role that may move the team's versions to ``stage`` and nothing else: it sets exactly that
        stage and never the approval status. Trusted by the listed accounts and principal patterns."""
        accounts = [a for a in approvers if not a.startswith("arn:")]
        patterns = [p for p in approvers if p.startswith("arn:")]
        by_account: dict[str, list[str]] = {}
        for pattern in patterns:
            by_account.setdefault(pattern.split(":")[4], []).append(pattern)
        principals = [_trusted_by(a, organization_id) for a in accounts] + [
            _trusted_by(a, organization_id, p) for a, p in sorted(by_account.items())
        ]
        role = iam.Role(
            self,
            f"StageApprover{stage}",
            role_name=stage_approver_role_name(team, stage),
            description=f"Team {team}: move versions to lifecycle stage {stage} (only this stage, no approval)",
            assumed_by=principals[0],
        )
        for principal in principals[1:]:
            role.assume_role_policy.add_statements(  # type: ignore[union-attr]
                iam.PolicyStatement(actions=["sts:AssumeRole"], principals=[principal])
            )
        only_this_stage = statement(
            "SetOnlyThisStage",
            ["sagemaker:UpdateModelPackage"],
            version_arns,
            {"StringEquals": {LIFECYCLE_STAGE_KEY: stage}, "Null": {"sagemaker:ModelApprovalStatus": "true"}},
        )
        attach_default_policy(stack, role, [*discovery, only_this_stage, catalog])  # they use `mlops` too
        return role

    @staticmethod
    def _discovery_statements(arns: ArnParts) -> list[dict[str, Any]]:
        return [
            statement(
                "DiscoverGroups",
                ["sagemaker:DescribeModelPackageGroup", "sagemaker:ListTags"],
                [arns.arn("sagemaker", "model-package-group", "*")],
            ),
            statement(
                "DiscoverVersions",
                [
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:ListModelPackages",
                    "sagemaker:BatchDescribeModelPackage",
                ],
                [arns.arn("sagemaker", "model-package", "*")],
            ),
            # ListModelPackageGroups has no resource type: AWS requires "*"
            statement("ListGroups", ["sagemaker:ListModelPackageGroups"], ["*"]),
        ]
