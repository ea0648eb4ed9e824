"""Lambda's SQS event source mappings are recorded, not run by moto.

moto invoked the mapped function inside ``SendMessage`` (which needs Docker: without it every
invocation failed, each message was received once more and the queue's redrive sent it to the DLQ
after ``maxReceiveCount`` sends). Here a mapping is created, listed and described as before, but
moto does not poll the queue: ``local.runner`` is the event source (it calls the real handler
in-process with the function's environment).
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import LambdaBackend
from moto.sqs.models import sqs_backends

_original_create = LambdaBackend.create_event_source_mapping


def create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> Any:
    mapping = _original_create(self, spec)
    for queue in sqs_backends[self.account_id][self.region_name].queues.values():
        if queue.queue_arn == mapping.event_source_arn:
            queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
    return mapping


def install() -> None:
    LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]
