"""Roles in an account that hosts endpoints: one SageMaker execution role per team served there, and the
deploy-access role."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import ArnFormat, Stack, Tags
from aws_cdk import aws_iam as iam
from cdk_nag import NagSuppressions
from constructs import Construct

from stacks.constructs.endpoint_access import (
    ENDPOINT_WILDCARD_REASONS,
    endpoint_management_statements,
    rollback_alarm_arn,
)
from stacks.constructs.endpoint_autoscaling import AUTOSCALING_WILDCARD_REASONS, autoscaling_statements
from stacks.constructs.names import (
    ARTIFACT_KEY_ALIAS,
    DEPLOY_ACCESS_ROLE_NAME,
    DEPLOYER_ROLE_NAME,
    TEAM_TAG,
    artifact_bucket_name,
    serving_role_name,
)
from stacks.constructs.retired_endpoints import RETIRED_WILDCARD_REASONS, retired_endpoint_statements

# CloudWatch alarm and log-group ARNs separate the resource name with ':' instead of '/'.
_COLON = ArnFormat.COLON_RESOURCE_NAME


class TeamExecutionRole(Construct):
    """Assumed by SageMaker for the models of one team's deployments in this account (one role per team, not
    per deployment: the team's artifact prefix is the boundary of what its models may read, and every
    deployment of the team reads the same prefix). It reads only `s3://<artifact bucket>/<team>/` (S3 + the
    central key through S3), pulls images only from the team's allowed image accounts, describes the
    rollback alarms and writes endpoint logs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        team: str,
        registry_account: str,
        registry_region: str,
        image_accounts: Sequence[str],
        regions: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        bucket = artifact_bucket_name(registry_account, registry_region)
        bucket_arn = f"arn:{stack.partition}:s3:::{bucket}"
        statements = [
            iam.PolicyStatement(
                sid="ReadTeamArtifacts",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                # the CreateModel execution role scoped to the model data it serves
                # (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms)
                resources=[f"{bucket_arn}/{team}/*"],
            ),
            iam.PolicyStatement(
                sid="DecryptTeamArtifacts",
                actions=["kms:Decrypt"],
                # The central key's id is unknown in this account; its alias pins it down. The bucket uses an
                # S3 Bucket Key, so the encryption context is the bucket's ARN, not the object's
                # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-bucket-key.html): KMS can
                # pin the bucket, the prefix is pinned by ReadTeamArtifacts.
                resources=[
                    stack.format_arn(
                        service="kms",
                        account=registry_account,
                        region=registry_region,
                        resource="key",
                        resource_name="*",
                    )
                ],
                conditions={
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": ARTIFACT_KEY_ALIAS},
                    "StringEquals": {
                        "kms:ViaService": f"s3.{registry_region}.amazonaws.com",
                        "kms:EncryptionContext:aws:s3:arn": bucket_arn,
                    },
                },
            ),
            iam.PolicyStatement(
                sid="DescribeRollbackAlarms",
                actions=["cloudwatch:DescribeAlarms"],
                # SageMaker reads each update's rollback alarms with the execution role; the deployer
                # names them per new EndpointConfig under the mlops- prefix (lambdas/deployer/rollback_alarms.py)
                resources=[rollback_alarm_arn(stack, account=stack.account, region=stack.region)],
            ),
            iam.PolicyStatement(
                sid="PullAllowedImages",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                # only repositories of the accounts the deployer admits images from (registry.allowed_image_accounts,
                # default: the team's account, the registry account and SageMaker's own image account), in the
                # endpoints' regions: a version naming another account's image cannot be pulled even if it
                # were deployed (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms)
                resources=[
                    stack.format_arn(
                        service="ecr",
                        account=account,
                        region=region,
                        resource="repository",
                        resource_name="*",
                    )
                    for region in sorted(set(regions))
                    for account in sorted(set(image_accounts))
                ],
            ),
            iam.PolicyStatement(
                sid="AuthenticateToEcr",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],  # GetAuthorizationToken has no resource-level permissions
            ),
            iam.PolicyStatement(
                sid="WriteEndpointLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                # SageMaker's endpoint log groups of this account (constant in size; see DescribeRollbackAlarms)
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="/aws/sagemaker/Endpoints/*:*",
                        arn_format=_COLON,
                    )
                ],
            ),
        ]
        self.role = iam.Role(
            self,
            "Role",
            role_name=serving_role_name(team),
            description=f"SageMaker execution role of team {team}'s endpoints kept in sync with the central registry",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        )
        for statement in statements:
            self.role.add_to_policy(statement)
        # the bucket policy grants serving roles their own team's prefix by this tag (artifact_store.py)
        Tags.of(self.role).add(TEAM_TAG, team)
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "Artifacts: any object under the team's prefix of the central artifact bucket (models "
                    "of any version of the team may be served); the central KMS key is named by alias because its "
                    "id is unknown here; images: any repository of the team's allowed image accounts; endpoint log "
                    "streams have generated names; ecr:GetAuthorizationToken supports no resource-level permissions; "
                    "rollback alarms (endpoint-wide ones and each update's new-fleet ones, named after its generated "
                    "endpoint config) by the project's 'mlops-' name prefix and SageMaker endpoint log groups, so the "
                    "policy does not grow with endpoints.",
                    "applies_to": [
                        {
                            "regex": "/^Resource::arn:<AWS::Partition>:s3:::mlops-artifacts-[0-9]{12}-[a-z0-9-]+/[a-z0-9-]+/\\*$/"
                        },
                        {"regex": "/^Resource::arn:<AWS::Partition>:kms:[a-z0-9-]+:[0-9]{12}:key/\\*$/"},
                        {
                            "regex": "/^Resource::arn:<AWS::Partition>:ecr:[a-z0-9-]+:[0-9]{12}:repository/\\*$/"
                        },
                        {
                            "regex": "/^Resource::arn:<AWS::Partition>:logs:[a-z0-9-]+:[0-9]{12}:log-group:/aws/sagemaker/Endpoints/[A-Za-z0-9*-]+:\\*$/"
                        },
                        {
                            "regex": "/^Resource::arn:<AWS::Partition>:cloudwatch:[a-z0-9-]+:[0-9]{12}:alarm:mlops-\\*$/"
                        },
                        "Resource::*",
                    ],
                }
            ],
            apply_to_children=True,
        )


class DeployAccessRole(Construct):
    """Trusted only by the central deployer's role; manages only the configured endpoints of this account."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        registry_account: str,
        registry_region: str,
        endpoints: Sequence[str],
        groups: Sequence[str],
        execution_role_arns: Sequence[str],
        organization_id: str | None,
        retired: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        deployer_role_arn = stack.format_arn(
            service="iam",
            region="",
            account=registry_account,
            resource="role",
            resource_name=DEPLOYER_ROLE_NAME,
        )
        conditions: dict[str, Any] = {"ArnEquals": {"aws:PrincipalArn": deployer_role_arn}}
        if organization_id:
            conditions["StringEquals"] = {"aws:PrincipalOrgID": organization_id}
        # Account principal + aws:PrincipalArn: the deployer role need not exist when this stack deploys.
        self.role = iam.Role(
            self,
            "Role",
            role_name=DEPLOY_ACCESS_ROLE_NAME,
            description="Assumed by the central model deployer to update this account's managed endpoints",
            assumed_by=iam.PrincipalWithConditions(iam.AccountPrincipal(registry_account), conditions),
        )
        for statement in retired_endpoint_statements(stack, endpoints=retired) if retired else []:
            self.role.add_to_policy(statement)
        for statement in (
            endpoint_management_statements(
                stack,
                account=stack.account,
                region=stack.region,
                endpoints=endpoints,
                execution_role_arns=execution_role_arns,
                registry_account=registry_account,
                registry_region=registry_region,
                groups=groups,
            )
            if endpoints  # an account whose endpoints are all retired manages none
            else []
        ):
            self.role.add_to_policy(statement)
        for statement in autoscaling_statements(stack, regions=[stack.region]):
            self.role.add_to_policy(statement)
        NagSuppressions.add_resource_suppressions(
            self.role,
            [ENDPOINT_WILDCARD_REASONS, AUTOSCALING_WILDCARD_REASONS, RETIRED_WILDCARD_REASONS],
            apply_to_children=True,
        )
