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
from stacks.constructs.serving_roles import DeployAccessRole, TeamExecutionRole
from stacks.deployer_stack import image_accounts


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
            # one execution role per team served in this account (the owner of each deployment's group)
            teams = sorted({config.group_owner(d.model_group).name for d in in_account})
            regions = sorted({d.region for d in in_account})
            roles = []
            for name in teams:
                team = next(t for t in config.teams if t.name == name)
                roles.append(
                    TeamExecutionRole(
                        self,
                        f"Execution-{name}",
                        team=name,
                        registry_account=registry.account,
                        registry_region=registry.region,
                        image_accounts=sorted({a for r in regions for a in image_accounts(config, team, r)}),
                        regions=regions,
                    ).role.role_arn
                )
            if account != registry.account:
                access = DeployAccessRole(
                    self,
                    "DeployAccess",
                    registry_account=registry.account,
                    registry_region=registry.region,
                    endpoints=sorted(d.endpoint for d in in_account),
                    groups=sorted({d.model_group for d in in_account}),
                    execution_role_arns=roles,
                    organization_id=registry.organization_id,
                    retired=sorted(
                        r.endpoint for r in config.retired if r.account == account and r.on_remove == "delete"
                    ),
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
