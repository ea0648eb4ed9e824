"""One CloudWatch dashboard for the people on call: is the deployer keeping up, failing, or stuck?"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(5)


class OperationsDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue: sqs.IQueue,
        dead_letters: sqs.IQueue,
        function: lambda_.IFunction,
        alarms: list[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name="mlops-deployments")
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Deployer alarms", alarms=alarms, width=24, height=3),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Trigger queue: waiting events and their age",
                left=[queue.metric_approximate_number_of_messages_visible(period=PERIOD)],
                right=[queue.metric_approximate_age_of_oldest_message(period=PERIOD)],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Dead letters (each needs a look)",
                left=[dead_letters.metric_approximate_number_of_messages_visible(period=PERIOD)],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Deployer invocations, errors and p99 duration",
                left=[function.metric_invocations(period=PERIOD), function.metric_errors(period=PERIOD)],
                right=[function.metric_duration(period=PERIOD, statistic="p99")],
                width=8,
            ),
        )
