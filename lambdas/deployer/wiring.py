"""Composition root of the Lambda: settings from the environment, clients from the factory."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from deployer.aws import ClientFactory
from deployer.errors import TransientError
from deployer.ledger import ApprovalPins, Ledger
from deployer.notifier import Notifier
from deployer.sagemaker_gateway import SageMakerGateway
from deployer.service import DeployerService
from deployer.settings import load_settings


def build_service(env: Mapping[str, str], clients: ClientFactory) -> DeployerService:
    settings = load_settings(env)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    queue_url = env.get("QUEUE_URL")
    dynamodb = _Lazy(lambda: clients.client("dynamodb", region))
    return DeployerService(
        settings=settings,
        gateway=SageMakerGateway(
            lambda where, role: clients.client("sagemaker", where, role),
            lambda where, role: clients.client("cloudwatch", where, role),
            autoscaling_for=lambda where, role: clients.client("application-autoscaling", where, role),
        ),
        ledger=Ledger(dynamodb, settings.ledger_table),
        notifier=Notifier(_Lazy(lambda: clients.client("sns", region)), settings.topic_arn),
        fan_out=QueueFanOut(_Lazy(lambda: clients.client("sqs", region)), queue_url) if queue_url else None,
        pins=ApprovalPins(dynamodb, settings.ledger_table),
    )


class QueueFanOut:
    """Sends events to the deployer's queue, ten per SendMessageBatch (the SQS maximum)."""

    BATCH = 10

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def __call__(self, events: list[dict[str, Any]]) -> None:
        for start in range(0, len(events), self.BATCH):
            chunk = events[start : start + self.BATCH]
            response = self._client.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "MessageBody": json.dumps(e)} for i, e in enumerate(chunk)],
            )
            if response.get("Failed"):  # the sweep message is retried; duplicates are harmless
                raise TransientError(
                    f"SendMessageBatch refused {len(response['Failed'])} message(s): {response['Failed'][0]}"
                )


class _Lazy:
    """Creates the wrapped client on first attribute access (a warm path never pays twice)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._make()
        return getattr(self._client, name)
