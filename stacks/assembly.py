"""Builds every stack of a validated config into a CDK app: stack boundaries follow account boundaries."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import App, Environment, Stack, Tags

from stacks.config import ProjectConfig
from stacks.constructs.names import ARTIFACT_KEY_ALIAS, artifact_bucket_name
from stacks.deployer_stack import DeployerStack
from stacks.placement import Placements, plan, team_stack_name
from stacks.registry_stack import RegistryStack
from stacks.serving_stack import ServingStack
from stacks.team_access_stack import TeamAccessStack
from stacks.team_images_stack import TeamImagesStack
from stacks.team_pipeline_stack import TeamPipelineStack


@dataclass
class Assembly:
    registry: RegistryStack
    deployer: DeployerStack
    team_stacks: list[TeamAccessStack] = field(default_factory=list)
    serving_stacks: list[ServingStack] = field(default_factory=list)
    pipeline_stacks: list[TeamPipelineStack] = field(default_factory=list)
    image_stacks: list[TeamImagesStack] = field(default_factory=list)

    @property
    def all_stacks(self) -> list[Stack]:
        return [
            self.registry,
            *self.team_stacks,
            self.deployer,
            *self.serving_stacks,
            *self.pipeline_stacks,
            *self.image_stacks,
        ]


def build(app: App, config: ProjectConfig, placements: Placements | None = None) -> Assembly:
    """Every stack of `config`; teams go to the stacks `placements` names (stacks/placement.py), by
    default those a first synth would choose."""
    if placements is None:
        placements = plan(config, None)
    registry_env = Environment(account=config.registry.account, region=config.registry.region)
    registry = RegistryStack(
        app,
        "MlopsRegistry",
        config=config,
        env=registry_env,
        description="Central model registry: artifact bucket and KMS key",
    )
    deployer = DeployerStack(
        app,
        "MlopsDeployer",
        config=config,
        env=registry_env,
        description="Approval-driven endpoint deployer, deployment ledger and notifications",
    )
    assembly = Assembly(registry=registry, deployer=deployer)
    for index in placements.stacks:
        team_stack = TeamAccessStack(
            app,
            team_stack_name(index),
            config=config,
            placed=placements.in_stack(index),
            artifact_bucket=registry.artifacts.bucket,
            artifact_key=registry.artifacts.key,
            env=registry_env,
            description=f"Central model registry: groups and roles of the teams placed in stack {index}",
        )
        assembly.team_stacks.append(team_stack)
    # an account whose endpoints are all retired with on_remove: delete keeps its roles until they are gone
    retiring = {(r.account, r.region) for r in config.retired if r.on_remove == "delete"}
    targets = sorted({(d.account, d.region) for d in config.deployments} | retiring)
    for account, region in targets:
        # IAM roles are account-wide: they live in the stack of the registry's region, whatever other
        # regions the account has, so they never move between stacks (stacks/config.py keeps every
        # endpoint in the registry's region today).
        roles_here = region == config.registry.region
        assembly.serving_stacks.append(
            ServingStack(
                app,
                f"MlopsServing-{account}-{region}",
                config=config,
                account=account,
                region=region,
                include_roles=roles_here,
                env=Environment(account=account, region=region),
                description=f"Managed endpoints in {account}/{region}: rollback alarms, roles, event forwarding",
            )
        )
    registry_region = config.registry.region
    key_alias_arn = registry.format_arn(service="kms", resource=ARTIFACT_KEY_ALIAS)
    for team in config.pipeline_teams:
        assert team.pipeline is not None
        pipeline = team.pipeline
        assembly.pipeline_stacks.append(
            TeamPipelineStack(
                app,
                f"MlopsTeamPipeline-{team.name}",
                team=team.name,
                model_package_group_arn=registry.format_arn(
                    service="sagemaker", resource="model-package-group", resource_name=pipeline.model_group
                ),
                artifact_bucket_name=artifact_bucket_name(config.registry.account, registry_region),
                artifact_kms_key_arn=key_alias_arn,
                training_instance_type=pipeline.training_instance_type,
                evaluation_instance_type=pipeline.evaluation_instance_type,
                metric_threshold=pipeline.metric_threshold,
                schedule=pipeline.schedule,
                # the group ARN is regional: the pipeline runs in the registry's region
                env=Environment(account=team.account, region=registry_region),
                description=f"Team {team.name}: training pipeline registering into the central registry",
            )
        )
    for team in config.teams:
        if team.image_repositories:
            # images must be in the endpoints' region: the registry's (stacks/config.py)
            assembly.image_stacks.append(
                TeamImagesStack(
                    app,
                    f"MlopsTeamImages-{team.name}",
                    config=config,
                    team=team,
                    env=Environment(account=team.account, region=registry_region),
                    description=f"Team {team.name}: ECR repositories of its inference images",
                )
            )
    for stack in assembly.all_stacks:
        Tags.of(stack).add("mlops:project", "model-registry")
    return assembly
