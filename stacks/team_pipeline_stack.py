"""The optional stack in a team account: the team's SageMaker pipeline."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from stacks.constructs.team_pipeline import TeamPipeline


class TeamPipelineStack(Stack):
    """Composes :class:`TeamPipeline` for one team account (deploy it with that account's credentials)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        team: str,
        model_package_group_arn: str,
        artifact_bucket_name: str,
        artifact_kms_key_arn: str,
        training_instance_type: str = "ml.m5.xlarge",
        evaluation_instance_type: str = "ml.m5.large",
        metric_threshold: float = 0.8,
        schedule: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.team_pipeline = TeamPipeline(
            self,
            "TeamPipeline",
            team=team,
            model_package_group_arn=model_package_group_arn,
            artifact_bucket_name=artifact_bucket_name,
            artifact_kms_key_arn=artifact_kms_key_arn,
            training_instance_type=training_instance_type,
            evaluation_instance_type=evaluation_instance_type,
            metric_threshold=metric_threshold,
            schedule=schedule,
        )
