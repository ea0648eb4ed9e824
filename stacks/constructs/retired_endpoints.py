"""IAM statements that let the deployer delete retired endpoints (config `retired`, `on_remove: delete`).

A retired endpoint is named in the config, so the deploy-access role of its account may describe and
delete exactly that endpoint, and only while it carries the deployer's `mlops:managed-by` tag (an
endpoint somebody else made under that name is never deleted). DeleteEndpoint keeps the endpoint's
configs and models; the deployer then deletes the ones it generated for that endpoint (names start with
the endpoint's prefix). Registry-account endpoints are deleted by the deployer's own role, scoped by the
same tag in one constant-size statement. Condition keys: the Service Authorization Reference lists
`aws:ResourceTag/${TagKey}` for SageMaker's DeleteEndpoint
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from stacks.constructs.endpoint_access import generated_prefix
from stacks.constructs.tagged_endpoint_access import MANAGED_BY, MANAGED_BY_TAG

MANAGED = {"StringEquals": {f"aws:ResourceTag/{MANAGED_BY_TAG}": MANAGED_BY}}


def retired_endpoint_statements(stack: Stack, *, endpoints: Sequence[str]) -> list[iam.PolicyStatement]:
    """For the deploy-access role of a serving account: the retired endpoints named in the config."""

    def arn(resource: str, name: str) -> str:
        return stack.format_arn(service="sagemaker", resource=resource, resource_name=name)

    endpoint_arns = [arn("endpoint", e.lower()) for e in endpoints]
    return [
        iam.PolicyStatement(
            sid="DescribeRetiredEndpoints",
            actions=["sagemaker:DescribeEndpoint"],
            resources=endpoint_arns,
        ),
        iam.PolicyStatement(
            sid="DeleteRetiredEndpoints",
            actions=["sagemaker:DeleteEndpoint"],
            resources=endpoint_arns,
            conditions=MANAGED,
        ),
        iam.PolicyStatement(
            sid="DeleteRetiredConfigsAndModels",
            actions=["sagemaker:DeleteEndpointConfig", "sagemaker:DeleteModel"],
            resources=[
                arn(kind, f"{generated_prefix(e)}-*")
                for e in endpoints
                for kind in ("endpoint-config", "model")
            ],
        ),
        iam.PolicyStatement(
            sid="ListRetiredConfigsAndModels",
            actions=["sagemaker:ListModels", "sagemaker:ListEndpointConfigs"],
            resources=["*"],  # list actions have no resource-level permissions
        ),
    ]


def tagged_retire_statements(stack: Stack, *, regions: Sequence[str]) -> list[iam.PolicyStatement]:
    """For the deployer's own role: delete endpoints of the registry account it created (by tag)."""
    return [
        iam.PolicyStatement(
            sid="DeleteRetiredManagedEndpoints",
            actions=["sagemaker:DeleteEndpoint"],
            resources=[
                stack.format_arn(service="sagemaker", region=r, resource="endpoint", resource_name="*")
                for r in regions
            ],
            conditions=MANAGED,
        )
    ]


RETIRED_WILDCARD_REASONS: dict[str, Any] = {
    "id": "AwsSolutions-IAM5",
    "reason": "Retired endpoints: their generated configs and models are named '<endpoint>-<hash>-v<version>-...', "
    "so they are scoped by the endpoint-name prefix; registry-account endpoints are deleted only when they "
    "carry the deployer's mlops:managed-by tag; ListModels/ListEndpointConfigs support no resource-level "
    "permissions.",
    "applies_to": [
        {
            "regex": "/^Resource::arn:<AWS::Partition>:sagemaker:[a-z0-9-]+:[0-9]{12}:(model|endpoint-config)/[A-Za-z0-9-]+-\\*$/"
        },
        {"regex": "/^Resource::arn:<AWS::Partition>:sagemaker:[a-z0-9-]+:[0-9]{12}:endpoint/\\*$/"},
        "Resource::*",
    ],
}
