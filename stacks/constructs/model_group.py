"""One SageMaker model package group with an exact cross-account resource policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.constructs.names import DEPLOY_ACCESS_ROLE_NAME, TEAM_TAG, registration_conditions
from stacks.constructs.policy_data import ArnParts


def _statement(
    sid: str, accounts: Sequence[str], actions: list[str], resources: list[str], conditions: dict[str, Any]
) -> dict[str, Any]:
    # Principals are bare account ids (IAM normalizes them to the account root): a third of the size of
    # root ARNs, which keeps a policy naming hundreds of team accounts inside SageMaker's 20 KB limit.
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {
            "AWS": list(accounts) if len(accounts) > 1 else accounts[0]
        },  # "*" only with an org condition
        "Action": sorted(actions) if len(actions) > 1 else actions[0],
        "Resource": resources if len(resources) > 1 else resources[0],
    }
    if conditions:
        statement["Condition"] = conditions
    return statement


class ModelGroup(Construct):
    """A model package group owned by one team.

    Resource policy (cross-account principals only; same-account roles are governed by their own policies):
    - the owning team's account may register versions, only as PendingManualApproval and without a
      lifecycle stage;
    - every team account may discover the group and its versions (describe/list): with an organization id,
      one constant-size statement for every principal of the organization (`aws:PrincipalOrgID`); without
      one, the team accounts by id (config.MAX_DISCOVERY_ACCOUNTS_WITHOUT_ORG caps their number);
    - serving accounts of the group's deployments may describe versions and create models from them.
    A retired group (its team left the config; `owner_account` None) keeps discovery only.
    The group is retained on removal and replacement: it holds the team's versions.
    The document is built as plain data: with hundreds of teams, one jsii object per principal made
    synthesis take minutes.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        group_name: str,
        team: str,
        owner_account: str | None,
        discovery_accounts: Sequence[str],
        serving_accounts: Sequence[str],
        organization_id: str | None,
        arn_parts: ArnParts | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        arns = arn_parts or ArnParts.of(Stack.of(self))
        self.group_arn = arns.arn("sagemaker", "model-package-group", group_name)
        self.versions_arn = arns.arn("sagemaker", "model-package", f"{group_name}/*")
        org = {"aws:PrincipalOrgID": organization_id} if organization_id else {}
        in_org = {"StringEquals": dict(org)} if org else {}

        def others(accounts: Sequence[str]) -> list[str]:
            return sorted(set(accounts) - {arns.account})

        statements: list[dict[str, Any]] = []
        if owner_account is not None and owner_account != arns.account:
            statements.append(
                _statement(
                    "OwnerRegistersPendingVersions",
                    [owner_account],
                    ["sagemaker:CreateModelPackage"],
                    [self.versions_arn],
                    registration_conditions(organization_id),
                )
            )
        if organization_id:
            # Principal "*" limited to the organization: the documented way to grant a whole organization
            # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid)
            statements.append(
                _statement(
                    "OrganizationDiscovers",
                    ["*"],
                    [
                        "sagemaker:DescribeModelPackageGroup",
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:ListModelPackages",
                    ],
                    [self.group_arn, self.versions_arn],
                    in_org,
                )
            )
        elif discoverers := others(discovery_accounts):
            statements.append(
                _statement(
                    "TeamsDiscover",
                    discoverers,
                    [
                        "sagemaker:DescribeModelPackageGroup",
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:ListModelPackages",
                    ],
                    [self.group_arn, self.versions_arn],
                    in_org,
                )
            )
        if servers := others(serving_accounts):
            # Only the deploy-access role of each serving account (the deployer acting there) may create
            # models from versions: not every principal of the serving account (issue 9, finding 7).
            # A cross-account CreateModel from a version needs the group policy to grant CreateModel and
            # DescribeModelPackage on model-package/<group>/* (the S3 bucket and ECR repository need their
            # own grants): https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-deploy-xaccount.html
            deploy_roles = [arns.role_arn(a, DEPLOY_ACCESS_ROLE_NAME) for a in servers]
            statements.append(
                _statement(
                    "ServingAccountsCreateModels",
                    servers,
                    ["sagemaker:DescribeModelPackage", "sagemaker:CreateModel"],
                    [self.versions_arn],
                    {
                        **in_org,
                        "ArnEquals": {
                            "aws:PrincipalArn": deploy_roles if len(deploy_roles) > 1 else deploy_roles[0]
                        },
                    },
                )
            )
        policy = {"Version": "2012-10-17", "Statement": statements} if statements else None
        self.resource = sagemaker.CfnModelPackageGroup(
            self,
            "Group",
            model_package_group_name=group_name,
            model_package_group_description=f"Model versions of team {team}",
            model_package_group_policy=policy,
            tags=[{"key": TEAM_TAG, "value": team}],
        )
        # Versions are the system of record: removing the group from a template (or a replacement) must
        # never delete it. A retired group stays in its stack; see stacks/placement.py.
        self.resource.apply_removal_policy(RemovalPolicy.RETAIN)
