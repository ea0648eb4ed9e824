"""IAM statements that let the deployer manage exactly the configured endpoints of one account/region.

Used twice: by the deployer's own role for endpoints in the registry account, and by the deploy-access
role of each serving account. Generated model and config names start with the endpoint name
(`<endpoint>-v<version>-<hash>`), so each endpoint's resources form one ARN prefix.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam

GENERATED_NAME_PREFIX = 32  # lambdas/deployer/names.py: "<endpoint[:32]>-<hash>-v<version>-..."


def generated_prefix(endpoint: str) -> str:
    return endpoint[:GENERATED_NAME_PREFIX].rstrip("-").lower()


ROLLBACK_ALARM_PREFIX = "mlops-"  # lambdas/deployer/rollback_alarms.py ALARM_PREFIX


def rollback_alarm_arn(stack: Stack, *, account: str, region: str) -> str:
    """Every alarm the deployer may create or delete in one account/region: the ``mlops-`` prefix."""
    return stack.format_arn(
        service="cloudwatch",
        account=account,
        region=region,
        resource="alarm",
        resource_name=f"{ROLLBACK_ALARM_PREFIX}*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def rollback_alarm_statements(
    stack: Stack, *, account: str, regions: Sequence[str], sid: str | None = "RollbackAlarms"
) -> list[iam.PolicyStatement]:
    """The deployer creates each update's rollback alarms (they watch the new fleet only, by its
    EndpointConfigName) and deletes them once the endpoint settles (lambdas/deployer/rollback_alarms.py):
    one statement for both actions, on the mlops- prefix of each region."""
    resources = [rollback_alarm_arn(stack, account=account, region=r) for r in regions]
    return [
        iam.PolicyStatement(
            sid=sid,
            actions=["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"],
            resources=resources,
        )
    ]


ROLLBACK_ALARM_WILDCARD_REASONS = {
    "id": "AwsSolutions-IAM5",
    "reason": "Each update's rollback alarms are named after its generated endpoint config, so they are "
    "created and deleted under the 'mlops-' alarm name prefix.",
    "applies_to": [
        {"regex": "/^Resource::arn:<AWS::Partition>:cloudwatch:[a-z0-9-]+:[0-9]{12}:alarm:mlops-\\*$/"},
    ],
}


def endpoint_management_statements(
    stack: Stack,
    *,
    account: str,
    region: str,
    endpoints: Sequence[str],
    execution_role_arns: Sequence[str],
    registry_account: str,
    registry_region: str,
    groups: Sequence[str],
) -> list[iam.PolicyStatement]:
    def arn(resource: str, name: str) -> str:
        return stack.format_arn(
            service="sagemaker", account=account, region=region, resource=resource, resource_name=name
        )

    # SageMaker ARNs carry lowercased names; generated names start with the endpoint's first 32 characters.
    endpoint_arns = [arn("endpoint", e.lower()) for e in endpoints]
    config_arns = [arn("endpoint-config", f"{generated_prefix(e)}-*") for e in endpoints]
    model_arns = [arn("model", f"{generated_prefix(e)}-*") for e in endpoints]
    package_arns = [
        stack.format_arn(
            service="sagemaker",
            account=registry_account,
            region=registry_region,
            resource="model-package",
            resource_name=f"{g}/*",
        )
        for g in groups
    ]
    return [
        iam.PolicyStatement(
            sid="ReadManagedEndpoints",
            actions=[
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
            ],
            resources=[*endpoint_arns, *config_arns, *model_arns],
        ),
        iam.PolicyStatement(
            sid="CreateModelsFromRegisteredVersions",
            actions=["sagemaker:CreateModel", "sagemaker:DescribeModelPackage"],
            resources=[*model_arns, *package_arns],
        ),
        iam.PolicyStatement(
            sid="CreateConfigsAndUpdateEndpoints",
            actions=[
                "sagemaker:CreateEndpointConfig",
                "sagemaker:CreateEndpoint",
                "sagemaker:UpdateEndpoint",
            ],
            resources=[*endpoint_arns, *config_arns],
        ),
        iam.PolicyStatement(
            sid="TagGeneratedResources",
            actions=["sagemaker:AddTags"],
            resources=[*endpoint_arns, *config_arns, *model_arns],
        ),
        iam.PolicyStatement(
            sid="CleanUpSupersededVersions",
            actions=["sagemaker:DeleteModel", "sagemaker:DeleteEndpointConfig"],
            resources=[*config_arns, *model_arns],
        ),
        iam.PolicyStatement(
            sid="ListForCleanUp",
            actions=["sagemaker:ListModels", "sagemaker:ListEndpointConfigs"],
            resources=["*"],  # list actions have no resource-level permissions
        ),
        *rollback_alarm_statements(stack, account=account, regions=[region]),
        iam.PolicyStatement(
            sid="PassOnlyTheTeamsExecutionRoles",
            actions=["iam:PassRole"],
            resources=list(execution_role_arns),  # the execution roles of the teams served in this account
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    ]


ENDPOINT_WILDCARD_REASONS = {
    "id": "AwsSolutions-IAM5",
    "reason": "Models and endpoint configs get generated names '<endpoint>-v<version>-<hash>', so they are "
    "scoped by the endpoint-name prefix; registered versions are '<group>/<n>' of the configured groups; "
    "ListModels and ListEndpointConfigs support no resource-level permissions; each update's rollback alarms "
    "are created and deleted under the 'mlops-' name prefix (their names carry the generated config name).",
    "applies_to": [
        {
            "regex": "/^Resource::arn:<AWS::Partition>:sagemaker:[a-z0-9-]+:[0-9]{12}:(model|endpoint-config)/[A-Za-z0-9-]+-\\*$/"
        },
        {
            "regex": "/^Resource::arn:<AWS::Partition>:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[A-Za-z0-9-]+/\\*$/"
        },
        {"regex": "/^Resource::arn:<AWS::Partition>:cloudwatch:[a-z0-9-]+:[0-9]{12}:alarm:mlops-\\*$/"},
        "Resource::*",
    ],
}
