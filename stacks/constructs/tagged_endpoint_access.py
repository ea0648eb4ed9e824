"""The deployer's own access to endpoints in the registry account, constant in size.

The registry account may host hundreds of managed endpoints; listing each endpoint's ARNs (as the
deploy-access role of a serving account does, stacks/constructs/endpoint_access.py) grows the deployer's
policy past IAM's 10 KB inline limit. Instead the deployer's writes are scoped by the tags it puts on what
it creates (lambdas/deployer/sagemaker_gateway.py): models and endpoint configs carry `mlops:endpoint`,
endpoints `mlops:managed-by: mlops-deployer`. It may create only tagged resources (`aws:RequestTag`) and
update or delete only resources that carry the tag (`aws:ResourceTag`); the condition keys are those the
Service Authorization Reference lists for SageMaker's CreateModel, CreateEndpointConfig, CreateEndpoint,
UpdateEndpoint, DeleteModel, DeleteEndpointConfig and AddTags:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html
One statement per kind of action, whatever the number of deployments or teams.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

ENDPOINT_TAG = "mlops:endpoint"  # on generated models and endpoint configs
MANAGED_BY_TAG = "mlops:managed-by"  # on endpoints the deployer created
MANAGED_BY = "mlops-deployer"


def tagged_endpoint_statements(
    stack: Stack, *, regions: Sequence[str], execution_role_pattern: str
) -> list[iam.PolicyStatement]:
    def arns(kind: str) -> list[str]:
        return [
            stack.format_arn(service="sagemaker", region=r, resource=kind, resource_name="*") for r in regions
        ]

    endpoints, configs, models = arns("endpoint"), arns("endpoint-config"), arns("model")
    generated = {"Null": {f"aws:RequestTag/{ENDPOINT_TAG}": "false"}}
    managed_on_create = {"StringEquals": {f"aws:RequestTag/{MANAGED_BY_TAG}": MANAGED_BY}}
    return [
        iam.PolicyStatement(
            sid="ReadEndpoints",
            # read-only; a ResourceTag condition would turn "no such endpoint yet" into AccessDenied
            actions=[
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
            ],
            resources=[*endpoints, *configs, *models],
        ),
        iam.PolicyStatement(
            sid="CreateTaggedModels",
            actions=["sagemaker:CreateModel", "sagemaker:CreateEndpointConfig", "sagemaker:AddTags"],
            resources=[*models, *configs],
            conditions=generated,
        ),
        iam.PolicyStatement(
            sid="CreateTaggedEndpoints",
            actions=["sagemaker:CreateEndpoint", "sagemaker:AddTags"],
            resources=[*endpoints, *configs],
            conditions=managed_on_create,
        ),
        iam.PolicyStatement(
            sid="UpdateManagedEndpoints",
            actions=["sagemaker:UpdateEndpoint"],
            resources=endpoints,
            conditions={"StringEquals": {f"aws:ResourceTag/{MANAGED_BY_TAG}": MANAGED_BY}},
        ),
        iam.PolicyStatement(
            sid="UseAndDeleteGenerated",
            actions=["sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpointConfig", "sagemaker:DeleteModel"],
            resources=[*configs, *models],
            conditions={"Null": {f"aws:ResourceTag/{ENDPOINT_TAG}": "false"}},
        ),
        iam.PolicyStatement(
            sid="ListForCleanUp",
            actions=["sagemaker:ListModels", "sagemaker:ListEndpointConfigs"],
            resources=["*"],  # list actions have no resource-level permissions
        ),
        iam.PolicyStatement(
            sid="PassOnlyTheTeamsExecutionRoles",
            actions=["iam:PassRole"],
            # the teams' execution roles of this account by their name pattern (mlops-<team>-serving):
            # constant in size whatever the number of teams served here
            resources=[execution_role_pattern],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    ]


TAGGED_WILDCARD_REASONS: dict[str, Any] = {
    "id": "AwsSolutions-IAM5",
    "reason": "Endpoints of the registry account: creates require the deployer's tags (aws:RequestTag), "
    "updates and deletes require them on the resource (aws:ResourceTag), so one statement per kind of action "
    "covers any number of endpoints; describes are read-only; registered versions of every group are readable "
    "(discovery is organization-wide); ListModels/ListEndpointConfigs support no resource-level permissions; "
    "only the teams' execution roles (mlops-<team>-serving) may be passed, by name pattern.",
    "applies_to": [
        {
            "regex": "/^Resource::arn:<AWS::Partition>:sagemaker:[a-z0-9-]+:[0-9]{12}:"
            "(endpoint|endpoint-config|model|model-package|model-package-group)/\\*$/"
        },
        {"regex": "/^Resource::arn:<AWS::Partition>:iam::[0-9]{12}:role/mlops-\\*-serving$/"},
        "Resource::*",
    ],
}
