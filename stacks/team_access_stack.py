"""Registry account, one team stack: the model package groups and publisher/approver roles of the teams
placed in it (stacks/placement.py: a team never moves; a retired team's groups stay with their versions).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.config import ProjectConfig, Team
from stacks.constructs.model_group import ModelGroup
from stacks.constructs.policy_data import ArnParts
from stacks.constructs.team_roles import TeamRoles
from stacks.placement import TeamPlacement


def ledger_endpoint_ids(config: ProjectConfig, team: Team) -> list[str]:
    """Ledger partition keys (`<account>/<region>/<endpoint>`, docs/contracts.md) of the endpoints that
    follow the team's groups: the only ledger items the team's roles may read."""
    return sorted(
        f"{d.account}/{d.region}/{d.endpoint}" for g in team.model_groups for d in config.deployments_of(g)
    )


class TeamAccessStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ProjectConfig,
        placed: list[tuple[str, TeamPlacement]],
        artifact_bucket: s3.IBucket,
        artifact_key: kms.IKey,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        org = config.registry.organization_id
        teams = {t.name: t for t in config.teams}
        arns = ArnParts.of(self)  # read once: every team's ARNs are built from it in Python
        # also read once: each read is a jsii round trip (the tokens are the same every time)
        bucket_arn, key_arn = artifact_bucket.bucket_arn, artifact_key.key_arn
        discovery_accounts = config.team_accounts
        for name, placement in placed:
            # Construct ids depend only on the team and group names: logical ids never change.
            team_scope = Construct(self, f"Team-{name}")
            team = teams.get(name)
            for group in placement.retired_groups:
                ModelGroup(
                    team_scope,
                    f"Group-{group}",
                    group_name=group,
                    team=name,
                    owner_account=None,
                    discovery_accounts=discovery_accounts,
                    serving_accounts=[],
                    organization_id=org,
                    arn_parts=arns,
                )
            if team is None:
                continue
            for group in team.model_groups:
                model_group = ModelGroup(
                    team_scope,
                    f"Group-{group}",
                    group_name=group,
                    team=team.name,
                    owner_account=team.account,
                    discovery_accounts=discovery_accounts,
                    serving_accounts=[d.account for d in config.deployments_of(group)],
                    organization_id=org,
                    arn_parts=arns,
                )
                CfnOutput(
                    team_scope,
                    f"GroupArn-{group}",
                    value=model_group.group_arn,
                    description=f"Model package group {group} of team {team.name}",
                )
            roles = TeamRoles(
                team_scope,
                "Roles",
                team=team.name,
                account=team.account,
                approver_account=team.approver_account,
                group_names=team.model_groups,
                artifact_bucket_arn=bucket_arn,
                artifact_key_arn=key_arn,
                organization_id=org,
                publisher_principals=team.publisher_principals,
                approver_principals=team.approver_principals,
                stage_approvers=team.stage_approvers,
                ledger_endpoint_ids=ledger_endpoint_ids(config, team),
                arn_parts=arns,
                path=[f"Team-{name}"],
            )
            CfnOutput(
                team_scope,
                "PublisherRoleArn",
                value=roles.publisher.role.attr_arn,
                description=f"Assumed from {team.account} to register versions of team {team.name}",
            )
            CfnOutput(
                team_scope,
                "ApproverRoleArn",
                value=roles.approver.role.attr_arn,
                description=f"Assumed from {team.approver_account} to approve versions of team {team.name}",
            )
            for stage, role in roles.stage_approvers.items():
                CfnOutput(
                    team_scope,
                    f"StageApproverRoleArn{stage}",
                    value=role.role_arn,
                    description=f"Assumed by the {stage} approvers of team {team.name}",
                )
