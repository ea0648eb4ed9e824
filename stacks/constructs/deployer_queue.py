"""The queue between the EventBridge rules and the deployer, with a dead-letter queue and its alarm."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.constructs.names import DLQ_NAME, QUEUE_NAME

MAX_RECEIVES = 5


class DeployerQueue(Construct):
    """Poison messages end in the DLQ after MAX_RECEIVES attempts; any message there raises an alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        function_timeout: Duration,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=DLQ_NAME,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=QUEUE_NAME,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            # AWS recommends six times the function timeout for SQS event sources.
            visibility_timeout=Duration.seconds(function_timeout.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVES),
        )
        self.dlq_alarm = cloudwatch.Alarm(
            self,
            "DeadLettersAlarm",
            alarm_name="mlops-deployer-dead-letters",
            alarm_description="Deployer events failed repeatedly and wait in the DLQ: inspect and redrive them",
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1)
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.dlq_alarm.add_alarm_action(actions.SnsAction(alarm_topic))
