"""One SageMaker model package group with an exact cross-account resource policy."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.constructs.names import PENDING, TEAM_TAG


class ModelGroup(Construct):
    """A model package group owned by one team.

    Resource policy (cross-account principals only; same-account roles are governed by their own policies):
    - the owning team's account may register versions, only as PendingManualApproval;
    - every team account may discover the group and its versions (describe/list);
    - serving accounts of the group's deployments may describe versions and create models from them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        group_name: str,
        team: str,
        owner_account: str,
        discovery_accounts: Sequence[str],
        serving_accounts: Sequence[str],
        organization_id: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.group_arn = stack.format_arn(
            service="sagemaker", resource="model-package-group", resource_name=group_name
        )
        self.versions_arn = stack.format_arn(
            service="sagemaker", resource="model-package", resource_name=f"{group_name}/*"
        )
        org = {"aws:PrincipalOrgID": organization_id} if organization_id else {}
        here = stack.account

        def principals(accounts: Sequence[str]) -> list[iam.IPrincipal]:
            return [iam.AccountPrincipal(a) for a in sorted(set(accounts) - {here})]

        statements: list[iam.PolicyStatement] = []
        if owner_account != here:
            statements.append(
                iam.PolicyStatement(
                    sid="OwnerRegistersPendingVersions",
                    principals=principals([owner_account]),
                    actions=["sagemaker:CreateModelPackage"],
                    resources=[self.versions_arn],
                    conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": PENDING, **org}},
                )
            )
        discoverers = principals(discovery_accounts)
        if discoverers:
            statements.append(
                iam.PolicyStatement(
                    sid="TeamsDiscoverGroup",
                    principals=discoverers,
                    actions=["sagemaker:DescribeModelPackageGroup"],
                    resources=[self.group_arn],
                    conditions={"StringEquals": org} if org else None,
                )
            )
            statements.append(
                iam.PolicyStatement(
                    sid="TeamsDiscoverVersions",
                    principals=discoverers,
                    actions=["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                    resources=[self.versions_arn],
                    conditions={"StringEquals": org} if org else None,
                )
            )
        servers = principals(serving_accounts)
        if servers:
            statements.append(
                iam.PolicyStatement(
                    sid="ServingAccountsCreateModels",
                    principals=servers,
                    actions=["sagemaker:DescribeModelPackage", "sagemaker:CreateModel"],
                    resources=[self.versions_arn],
                    conditions={"StringEquals": org} if org else None,
                )
            )
        policy = iam.PolicyDocument(statements=statements) if statements else None
        self.resource = sagemaker.CfnModelPackageGroup(
            self,
            "Group",
            model_package_group_name=group_name,
            model_package_group_description=f"Model versions of team {team}",
            model_package_group_policy=policy.to_json() if policy else None,
            tags=[{"key": TEAM_TAG, "value": team}],
        )
