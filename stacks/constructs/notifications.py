"""SNS topic every deployment outcome and operational alarm is published to."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.constructs.names import TOPIC_NAME


class DeploymentNotifications(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=TOPIC_NAME,
            display_name="Model deployments",
            master_key=key,
            enforce_ssl=True,
        )
