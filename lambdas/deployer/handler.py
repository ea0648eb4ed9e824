"""Lambda entry point ``deployer.handler.handler`` (SQS event source, partial batch responses)."""

from __future__ import annotations

import os
from typing import Any

from deployer import aws, log
from deployer.events import parse_lambda_event
from deployer.service import DeployerService
from deployer.wiring import build_service

_SERVICE: DeployerService | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    global _SERVICE
    if _SERVICE is None:  # first invocation of this sandbox: settings and clients, once
        log.configure(os.environ.get("LOG_LEVEL", "INFO"))  # pragma: no mutate
        _SERVICE = build_service(os.environ, aws.factory())
    messages = parse_lambda_event(event)
    failed = _SERVICE.handle(messages, remaining_ms=getattr(context, "get_remaining_time_in_millis", None))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
