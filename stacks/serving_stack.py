"""An account and region that hosts managed endpoints: rollback alarms, roles and event forwarding.

IAM roles are global to an account, so only one region's stack of an account holds them.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.config import ProjectConfig
from stacks.constructs.event_forwarding import EndpointEventForwarding
from stacks.constructs.rollback_alarms import RollbackAlarms
from stacks.constructs.serving_roles import DeployAccessRole, ExecutionRole


class ServingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ProjectConfig,
        account: str,
        region: str,
        include_roles: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        registry = config.registry
        here = [d for d in config.deployments if (d.account, d.region) == (account, region)]
        in_account = [d for d in config.deployments if d.account == account]
        for deployment in here:
            RollbackAlarms(self, f"Alarms-{deployment.endpoint}", endpoint=deployment.endpoint)
        if include_roles:
            execution = ExecutionRole(
                self,
                "Execution",
                registry_account=registry.account,
                registry_region=registry.region,
                endpoints=sorted(d.endpoint for d in in_account),
            )
            CfnOutput(self, "ExecutionRoleArn", value=execution.role.role_arn)
            if account != registry.account:
                access = DeployAccessRole(
                    self,
                    "DeployAccess",
                    registry_account=registry.account,
                    registry_region=registry.region,
                    endpoints=sorted(d.endpoint for d in in_account),
                    groups=sorted({d.model_group for d in in_account}),
                    execution_role_arn=execution.role.role_arn,
                    organization_id=registry.organization_id,
                )
                CfnOutput(self, "DeployAccessRoleArn", value=access.role.role_arn)
        if (account, region) != (registry.account, registry.region) and here:
            EndpointEventForwarding(
                self,
                "Forwarding",
                endpoints=[d.endpoint for d in here],
                registry_account=registry.account,
                registry_region=registry.region,
            )
