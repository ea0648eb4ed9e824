"""Registry account, core: the artifact bucket and key every team and serving account shares."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.config import ProjectConfig
from stacks.constructs.artifact_store import ArtifactStore
from stacks.constructs.names import SERVING_ROLE_PATTERN


class RegistryStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: ProjectConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        serving_accounts = sorted({d.account for d in config.deployments} - {config.registry.account})
        self.artifacts = ArtifactStore(
            self,
            "Artifacts",
            reader_accounts=serving_accounts,
            reader_role_pattern=SERVING_ROLE_PATTERN,
            organization_id=config.registry.organization_id,
            pipeline_writers=[
                (t.name, t.account) for t in config.pipeline_teams if t.account != config.registry.account
            ],
        )
        CfnOutput(self, "ArtifactBucketName", value=self.artifacts.bucket.bucket_name)
        CfnOutput(self, "ArtifactKeyArn", value=self.artifacts.key.key_arn)
