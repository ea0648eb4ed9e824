"""Registry account: the deployer, its trigger queue and rules, the ledger and notifications."""

from __future__ import annotations

import functools
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from botocore.session import Session as BotocoreSession
from constructs import Construct

from pipelines.team_pipeline import template as t
from stacks.config import Deployment, ProjectConfig, RetiredEndpoint, Team
from stacks.constructs.deployer_function import TIMEOUT, DeployerFunction
from stacks.constructs.deployer_queue import DeployerQueue
from stacks.constructs.deployment_triggers import DeploymentTriggers
from stacks.constructs.deployments_catalog import DeploymentsCatalog
from stacks.constructs.endpoint_access import ROLLBACK_ALARM_WILDCARD_REASONS, rollback_alarm_statements
from stacks.constructs.endpoint_autoscaling import AUTOSCALING_WILDCARD_REASONS, autoscaling_statements
from stacks.constructs.ledger import DeploymentLedger
from stacks.constructs.names import (
    DEPLOY_ACCESS_ROLE_NAME,
    SERVING_ROLE_PATTERN,
    artifact_bucket_name,
    rollback_alarm_names,
    serving_role_name,
)
from stacks.constructs.notifications import DeploymentNotifications
from stacks.constructs.operations_dashboard import OperationsDashboard
from stacks.constructs.retired_endpoints import RETIRED_WILDCARD_REASONS, tagged_retire_statements
from stacks.constructs.tagged_endpoint_access import TAGGED_WILDCARD_REASONS, tagged_endpoint_statements


def _role_arn(stack: Stack, account: str, name: str) -> str:
    return f"arn:{partition_of(stack.region)}:iam::{account}:role/{name}"


@functools.cache
def partition_of(region: str) -> str:
    """The ARN partition of a region, as text. These ARNs are written into the deployer's code package,
    where nothing resolves a CloudFormation token: `stack.partition` there would reach sts:AssumeRole as
    the literal `arn:${Token[AWS.Partition.8]}:...` (and change the code hash at every synth)."""
    return str(BotocoreSession().get_partition_for_region(region))


def sagemaker_image_accounts(region: str) -> tuple[str, ...]:
    """SageMaker's own image account of ``region``: the built-in algorithm images (XGBoost), as the
    SageMaker SDK resolved them when the pipeline template was built (pipelines/generated/)."""
    uri = t.load_template()["image_uris"].get(region)
    return (uri.split(".", 1)[0],) if isinstance(uri, str) else ()


def image_accounts(config: ProjectConfig, team: Team, region: str) -> list[str]:
    """Accounts whose ECR images a team's models may run in ``region``: ``registry.allowed_image_accounts``,
    by default the team's account, the registry account and SageMaker's own image account of the region.
    The deployer admits only these (admission_rules) and the team's execution roles pull only from them."""
    allowed = config.registry.allowed_image_accounts
    if allowed is None:
        allowed = (team.account, config.registry.account, *sagemaker_image_accounts(region))
    return sorted(set(allowed))


def admission_rules(config: ProjectConfig, deployment: Deployment) -> dict[str, Any]:
    """What the deployer admits for this deployment (lambdas/deployer/admission.py): images of the allowed
    accounts (default: the owning team's account, the registry account and SageMaker's own image account
    of the region; not every team's, so adding a team changes no existing deployment), pinned by digest
    when required, and model data only under the owning team's prefix."""
    registry = config.registry
    owner = config.group_owner(deployment.model_group)
    return {
        "allowed_image_accounts": image_accounts(config, owner, deployment.region),
        "require_image_digest": registry.require_image_digest,
        "model_data_prefix": f"s3://{artifact_bucket_name(registry.account, registry.region)}/{owner.name}/",
    }


def deployment_spec(stack: Stack, config: ProjectConfig, deployment: Deployment) -> dict[str, Any]:
    """One entry of the deployer's DEPLOYMENTS setting (docs/contracts.md)."""
    in_registry_account = deployment.account == config.registry.account
    return {
        "endpoint": deployment.endpoint,
        "group": deployment.model_group,
        "group_arn": f"arn:{partition_of(config.registry.region)}:sagemaker:{config.registry.region}:"
        f"{config.registry.account}:model-package-group/{deployment.model_group}",
        "account": deployment.account,
        "region": deployment.region,
        "follows": deployment.follows,
        "instance_type": deployment.instance_type,
        "instance_count": deployment.instance_count,
        "rollout": deployment.rollout.as_dict(),
        "alarms": list(rollback_alarm_names(deployment.endpoint)),
        # the owning team's execution role in the endpoint's account (stacks/constructs/serving_roles.py)
        "execution_role_arn": _role_arn(
            stack, deployment.account, serving_role_name(config.group_owner(deployment.model_group).name)
        ),
        "deploy_role_arn": None
        if in_registry_account
        else _role_arn(stack, deployment.account, DEPLOY_ACCESS_ROLE_NAME),
        "admission": admission_rules(config, deployment),
        "network_isolation": deployment.network_isolation,
    }


def retired_spec(stack: Stack, config: ProjectConfig, retired: RetiredEndpoint) -> dict[str, Any]:
    """A DEPLOYMENTS entry for an endpoint of the config's `retired` (docs/contracts.md)."""
    return {
        "endpoint": retired.endpoint,
        "account": retired.account,
        "region": retired.region,
        "on_remove": retired.on_remove,
        "deploy_role_arn": None
        if retired.account == config.registry.account
        else _role_arn(stack, retired.account, DEPLOY_ACCESS_ROLE_NAME),
    }


class DeployerStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: ProjectConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        registry = config.registry
        deployments = config.deployments
        self.key = kms.Key(
            self,
            "Key",
            alias="alias/mlops-deployer",
            enable_key_rotation=True,
            description="Encrypts the deployer's queues and notifications",
        )
        # EventBridge writes to the encrypted queue; CloudWatch alarms publish to the encrypted topic.
        for service in ("events.amazonaws.com", "cloudwatch.amazonaws.com"):
            self.key.grant(iam.ServicePrincipal(service), "kms:GenerateDataKey", "kms:Decrypt")
        self.notifications = DeploymentNotifications(self, "Notifications", key=self.key)
        self.queue = DeployerQueue(
            self, "Queue", key=self.key, function_timeout=TIMEOUT, alarm_topic=self.notifications.topic
        )
        self.ledger = DeploymentLedger(self, "Ledger")
        specs = [deployment_spec(self, config, d) for d in deployments]
        specs += [retired_spec(self, config, r) for r in config.retired]
        self.deployer = DeployerFunction(
            self,
            "Deployer",
            deployments=specs,
            queue=self.queue.queue,
            ledger=self.ledger.table,
            topic=self.notifications.topic,
            registry_account=registry.account,
        )
        # the same list, published for the CLI, the UI and scripts (read with the readers' own roles)
        self.catalog = DeploymentsCatalog(
            self,
            "Catalog",
            deployments=specs,
            registry_account=registry.account,
            registry_region=registry.region,
        )
        groups = sorted({d.model_group for d in deployments})
        endpoints = sorted({d.endpoint for d in deployments})
        if groups:
            self.deployer.allow_registry_reads()
        local_regions = sorted({d.region for d in deployments if d.account == registry.account})
        if local_regions:
            # constant-size: scoped by the tags the deployer puts on what it creates, not by endpoint names
            self.deployer.add_statements(
                tagged_endpoint_statements(
                    self,
                    regions=local_regions,
                    execution_role_pattern=_role_arn(self, registry.account, SERVING_ROLE_PATTERN),
                )
            )
            # no Sid: the deployer's inline policy is near its size budget (test_deployer_iam_size)
            self.deployer.add_statements(
                rollback_alarm_statements(self, account=registry.account, regions=local_regions, sid=None)
            )
            self.deployer.add_statements(autoscaling_statements(self, regions=local_regions))
            self.deployer.acknowledge_wildcards([AUTOSCALING_WILDCARD_REASONS])
        retiring_here = sorted(
            {r.region for r in config.retired if r.account == registry.account and r.on_remove == "delete"}
        )
        if retiring_here:
            self.deployer.add_statements(tagged_retire_statements(self, regions=retiring_here))
            self.deployer.acknowledge_wildcards([RETIRED_WILDCARD_REASONS])
        serving_accounts = sorted(
            (
                {d.account for d in deployments}
                | {r.account for r in config.retired if r.on_remove == "delete"}
            )
            - {registry.account}
        )
        self.deployer.allow_assume(DEPLOY_ACCESS_ROLE_NAME, serving_accounts, registry.organization_id)
        self.deployer.acknowledge_wildcards([TAGGED_WILDCARD_REASONS, ROLLBACK_ALARM_WILDCARD_REASONS])
        if endpoints:
            self.triggers = DeploymentTriggers(
                self,
                "Triggers",
                queue=self.queue.queue,
                groups=groups,
                endpoints=endpoints,
                serving_accounts=serving_accounts,  # the registry account's own events need no bus policy
                organization_id=registry.organization_id,
            )
        self.dashboard = OperationsDashboard(
            self,
            "Operations",
            queue=self.queue.queue,
            dead_letters=self.queue.dead_letters,
            function=self.deployer.function,
            alarms=[self.queue.dlq_alarm, self.deployer.errors_alarm],
        )
        CfnOutput(self, "LedgerTableName", value=self.ledger.table.table_name)
        CfnOutput(
            self,
            "NotificationTopicArn",
            value=self.notifications.topic.topic_arn,
            description="Subscribe to hear about every deployment",
        )
        CfnOutput(
            self,
            "DeployerRoleArn",
            value=self.deployer.role.role_arn,
            description="Serving accounts' deploy-access roles trust this role",
        )
