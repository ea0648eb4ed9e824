"""A stand-in for Lambda's SQS event source: poll a queue, call a handler in-process.

What it does, as Lambda does it (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):

- long-polls the queue for up to ``batch_size`` messages (``ReceiveMessage`` with
  ``WaitTimeSeconds``, all system attributes);
- builds the SQS event (``Records`` with ``messageId``, ``receiptHandle``, ``body``, ``attributes``,
  ``messageAttributes``, ``md5OfBody``, ``eventSource: aws:sqs``, ``eventSourceARN``, ``awsRegion``);
- calls ``handler(event, context)`` with a fake Lambda context, with the function's environment
  variables set in ``os.environ`` for the duration of the call;
- on success deletes the batch, except the messages listed in ``batchItemFailures`` when
  ``report_batch_item_failures`` is on (``FunctionResponseTypes: [ReportBatchItemFailures]``); an
  exception, or a malformed failure list, fails the whole batch; failed messages are not deleted
  and come back after the queue's visibility timeout (then to the DLQ after ``maxReceiveCount``
  receives, which the queue's redrive policy does, not the runner).

Differences from Lambda: one poller, one batch at a time (no concurrency scaling), no batching
window, no retries of the handler itself; the handler runs in this process and this interpreter.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
_ENV_LOCK = threading.RLock()


@dataclass
class FakeContext:
    """The attributes and method of a Lambda context object that handlers use."""

    function_name: str
    region: str
    account_id: str
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@contextlib.contextmanager
def environment(variables: dict[str, str], *, remove_added: bool = True) -> Iterator[None]:
    """Set environment variables for a block and restore the previous values afterwards.

    With ``remove_added=False`` variables that did not exist before stay set: deleting a key while
    another thread iterates ``os.environ`` (botocore does, looking for proxies, on every client it
    creates) raises ``KeyError`` in that thread, so a runner polling in the background only removes
    them when it stops.
    """
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in variables}
        os.environ.update(variables)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is not None:
                    os.environ[key] = value
                elif remove_added:
                    os.environ.pop(key, None)


def import_handler(dotted: str, variables: dict[str, str] | None = None) -> Handler:
    """``"deployer.handler.handler"`` -> the function, imported with ``variables`` set."""
    module_name, _, attr = dotted.rpartition(".")
    with environment(variables or {}):
        module = importlib.import_module(module_name)
    handler: Handler = getattr(module, attr)
    return handler


def _lambda_attributes(message_attributes: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in message_attributes.items():
        out[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value["DataType"],
        }
    return out


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source passes to the function for these messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": _lambda_attributes(m.get("MessageAttributes", {})),
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


@dataclass
class BatchResult:
    received: int = 0
    deleted: int = 0
    failed: list[str] = field(default_factory=list)  # message ids left on the queue
    error: BaseException | None = None


class SqsRunner:
    """Poll one queue and feed a handler, like an SQS event source mapping."""

    def __init__(
        self,
        *,
        handler: Handler,
        queue_url: str,
        sqs_client: Any,
        environment: dict[str, str] | None = None,
        function_name: str = "function",
        batch_size: int = 10,
        wait_time_seconds: int = 1,
        report_batch_item_failures: bool = True,
        timeout_seconds: float = 30.0,
        credentials: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        if not 1 <= batch_size <= 10:
            raise ValueError(f"batch_size must be 1-10 (one ReceiveMessage call), got {batch_size}")
        self.handler = handler
        self.queue_url = queue_url
        self.sqs = sqs_client
        self.environment = dict(environment or {})
        self.function_name = function_name
        self.batch_size = batch_size
        self.wait_time_seconds = wait_time_seconds
        self.report_batch_item_failures = report_batch_item_failures
        self.timeout_seconds = timeout_seconds
        # the execution role's credential variables, asked for before every invocation (they rotate)
        self.credentials = credentials
        self.region = sqs_client.meta.region_name
        attrs = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self.queue_arn: str = attrs["Attributes"]["QueueArn"]
        self.account_id = self.queue_arn.split(":")[4]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # variables a background runner added to os.environ; removed by stop() (see environment())
        self._added_variables: set[str] = set()

    def _lambda_env(self) -> dict[str, str]:
        return {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            **self.environment,
            **(self.credentials() if self.credentials is not None else {}),
        }

    def poll_once(self) -> BatchResult:
        """Receive one batch (long polling), invoke the handler, delete what succeeded."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_time_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        result = BatchResult(received=len(messages))
        if not messages:
            return result
        event = sqs_event(messages, self.queue_arn, self.region)
        context = FakeContext(self.function_name, self.region, self.account_id, self.timeout_seconds)
        ids = [m["MessageId"] for m in messages]
        variables = self._lambda_env()
        threaded = self._thread is not None
        if threaded:
            self._added_variables.update(k for k in variables if k not in os.environ)
        try:
            with environment(variables, remove_added=not threaded):
                response = self.handler(event, context)
        except Exception as exc:  # noqa: BLE001 - a failed invocation fails the batch, as in Lambda
            log.exception("handler failed; %d message(s) stay on the queue", len(messages))
            result.error, result.failed = exc, ids
            return result
        failed = self._failed_ids(response, ids)
        to_delete = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(to_delete), 10):
            chunk = to_delete[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        result.deleted, result.failed = len(to_delete), [i for i in ids if i in failed]
        return result

    def _failed_ids(self, response: Any, ids: list[str]) -> set[str]:
        if not self.report_batch_item_failures or not isinstance(response, dict):
            return set()
        items = response.get("batchItemFailures")
        if not items:
            return set()
        failed = {item.get("itemIdentifier") if isinstance(item, dict) else None for item in items}
        if not failed <= set(ids):  # Lambda treats an invalid failure list as a failed batch
            log.error("invalid batchItemFailures %r; the whole batch stays on the queue", items)
            return set(ids)
        return {f for f in failed if f}

    def drain(self, max_batches: int = 100) -> list[BatchResult]:
        """Poll until a receive comes back empty (or ``max_batches``); for tests and scripts."""
        results = []
        for _ in range(max_batches):
            result = self.poll_once()
            if not result.received:
                break
            results.append(result)
        return results

    def run(self) -> None:
        """Poll until :meth:`stop` is called."""
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - keep polling, as the event source does
                log.exception("polling %s failed", self.queue_url)
                self._stop.wait(1.0)

    def start(self) -> SqsRunner:
        """Poll in a background thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=f"sqs-runner-{self.function_name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.wait_time_seconds + 5)
            self._thread = None
        with _ENV_LOCK:
            for key in self._added_variables:
                os.environ.pop(key, None)
            self._added_variables.clear()


def from_event_source_mapping(
    *, lambda_client: Any, sqs_client: Any, function_name: str, handler: Handler | None = None, **kwargs: Any
) -> SqsRunner:
    """A runner configured like a deployed function: its SQS mapping, environment and handler.

    ``handler`` defaults to importing the function's ``Handler`` setting (e.g.
    ``deployer.handler.handler``) with its environment set.
    """
    config = lambda_client.get_function_configuration(FunctionName=function_name)
    variables = (config.get("Environment") or {}).get("Variables", {})
    mappings = lambda_client.list_event_source_mappings(FunctionName=function_name)["EventSourceMappings"]
    sqs_mappings = [m for m in mappings if ":sqs:" in m["EventSourceArn"]]
    if len(sqs_mappings) != 1:
        raise ValueError(f"{function_name} has {len(sqs_mappings)} SQS event source mappings; expected 1")
    mapping = sqs_mappings[0]
    _, _, _, _, account, queue_name = mapping["EventSourceArn"].split(":")
    queue_url = sqs_client.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    return SqsRunner(
        handler=handler or import_handler(config["Handler"], variables),
        queue_url=queue_url,
        sqs_client=sqs_client,
        environment=variables,
        function_name=function_name,
        batch_size=min(int(mapping.get("BatchSize") or 10), 10),
        report_batch_item_failures="ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []),
        timeout_seconds=float(config.get("Timeout") or 30),
        **kwargs,
    )
