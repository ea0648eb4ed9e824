"""The optional stack in a team account: the team's ECR repositories for its inference images."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.config import ProjectConfig, Team
from stacks.constructs.team_images import TeamImageRepositories


class TeamImagesStack(Stack):
    """`teams.<name>.image_repositories`, pullable by the team's execution roles in the serving accounts
    of its deployments (deploy it with the team account's credentials)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: ProjectConfig, team: Team, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        serving = sorted({d.account for d in config.deployments if d.model_group in team.model_groups})
        images = TeamImageRepositories(
            self,
            "Images",
            team=team.name,
            repositories=team.image_repositories,
            serving_accounts=serving,
            organization_id=config.registry.organization_id,
        )
        for index, repository in enumerate(images.repositories):
            CfnOutput(self, f"RepositoryUri{index}", value=repository.repository_uri)
