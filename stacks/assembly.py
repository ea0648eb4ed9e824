"""Builds every stack of a validated config into a CDK app: stack boundaries follow account boundaries."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import App, Environment, Stack, Tags

from stacks.config import ProjectConfig
from stacks.registry_stack import RegistryStack
from stacks.team_access_stack import TeamAccessStack


@dataclass
class Assembly:
    registry: RegistryStack
    team_stacks: list[TeamAccessStack] = field(default_factory=list)

    @property
    def all_stacks(self) -> list[Stack]:
        return [self.registry, *self.team_stacks]


def build(app: App, config: ProjectConfig) -> Assembly:
    registry_env = Environment(account=config.registry.account, region=config.registry.region)
    registry = RegistryStack(
        app,
        "MlopsRegistry",
        config=config,
        env=registry_env,
        description="Central model registry: artifact bucket and KMS key",
    )
    assembly = Assembly(registry=registry)
    for shard in range(config.registry.team_stacks):
        teams = config.teams_in_shard(shard)
        if not teams:
            continue
        team_stack = TeamAccessStack(
            app,
            f"MlopsRegistryTeams{shard}",
            config=config,
            teams=teams,
            artifact_bucket=registry.artifacts.bucket,
            artifact_key=registry.artifacts.key,
            env=registry_env,
            description=f"Central model registry: groups and roles of teams in shard {shard}",
        )
        assembly.team_stacks.append(team_stack)
    for stack in assembly.all_stacks:
        Tags.of(stack).add("mlops:project", "model-registry")
    return assembly
