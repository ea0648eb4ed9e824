"""The Lambda SQS event-source stand-in (local.runner) against Lambda's documented behaviour."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.runner import FakeContext, SqsRunner, from_event_source_mapping, import_handler

from .conftest import ACCOUNT, REGION


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


def _queues(sqs: Any, visibility: int = 0, max_receive: int = 2) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="work",
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}
            ),
        },
    )["QueueUrl"]
    return queue, dlq


def _count(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _send(sqs: Any, url: str, *bodies: str) -> list[str]:
    return [
        sqs.send_message(
            QueueUrl=url,
            MessageBody=b,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
        )["MessageId"]
        for b in bodies
    ]


class Recorder:
    def __init__(self, fail: set[str] | None = None, raise_error: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.env: list[str | None] = []
        self.fail = fail or set()
        self.raise_error = raise_error

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        self.env.append(os.environ.get("LEDGER_TABLE"))
        if self.raise_error:
            raise RuntimeError("boom")
        failures = [r["messageId"] for r in event["Records"] if r["body"] in self.fail]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failures]}


def test_event_shape_context_environment_and_deletion(sqs: Any) -> None:
    queue, _ = _queues(sqs)
    ids = _send(sqs, queue, "a", "b")
    handler = Recorder()
    runner = SqsRunner(
        handler=handler,
        queue_url=queue,
        sqs_client=sqs,
        environment={"LEDGER_TABLE": "ledger"},
        function_name="mlops-deployer",
        wait_time_seconds=0,
    )
    (result,) = runner.drain()
    assert (result.received, result.deleted, result.failed) == (2, 2, [])
    assert _count(sqs, queue) == 0
    (event,) = handler.events
    record = event["Records"][0]
    assert [r["messageId"] for r in event["Records"]] == ids
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:work"
    assert record["awsRegion"] == REGION
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"]["stringValue"] == "test"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"
    context = handler.contexts[0]
    assert context.function_name == "mlops-deployer"
    assert context.invoked_function_arn == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:mlops-deployer"
    assert 0 < context.get_remaining_time_in_millis() <= 30_000
    assert handler.env == ["ledger"]
    assert "LEDGER_TABLE" not in os.environ


def test_credentials_are_asked_for_before_every_invocation(sqs: Any) -> None:
    queue, _ = _queues(sqs)
    keys = iter(["AKIAFIRST", "AKIASECOND"])
    seen: list[str | None] = []
    runner = SqsRunner(
        handler=lambda event, context: seen.append(os.environ.get("AWS_ACCESS_KEY_ID")),
        queue_url=queue,
        sqs_client=sqs,
        wait_time_seconds=0,
        credentials=lambda: {"AWS_ACCESS_KEY_ID": next(keys)},  # e.g. a renewed role session
    )
    for body in ("a", "b"):
        _send(sqs, queue, body)
        runner.poll_once()
    assert seen == ["AKIAFIRST", "AKIASECOND"]
    assert os.environ.get("AWS_ACCESS_KEY_ID") == "testing"


def test_batch_item_failures_stay_then_go_to_the_dlq(sqs: Any) -> None:
    queue, dlq = _queues(sqs, visibility=0, max_receive=2)
    _send(sqs, queue, "ok", "poison")
    handler = Recorder(fail={"poison"})
    runner = SqsRunner(handler=handler, queue_url=queue, sqs_client=sqs, wait_time_seconds=0)
    first = runner.poll_once()
    assert (first.deleted, len(first.failed)) == (1, 1)
    second = runner.poll_once()  # visible again at once (VisibilityTimeout 0), second receive
    assert second.received == 1
    assert handler.events[-1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    third = runner.poll_once()  # past maxReceiveCount: SQS moved it to the DLQ on receive
    assert third.received == 0
    assert _count(sqs, queue) == 0
    assert _count(sqs, dlq) == 1


def test_failed_message_is_invisible_until_the_visibility_timeout(sqs: Any) -> None:
    queue, _ = _queues(sqs, visibility=30)
    _send(sqs, queue, "poison")
    runner = SqsRunner(
        handler=Recorder(fail={"poison"}), queue_url=queue, sqs_client=sqs, wait_time_seconds=0
    )
    assert runner.poll_once().failed
    assert runner.poll_once().received == 0
    assert _count(sqs, queue) == 1


def test_exception_fails_the_whole_batch(sqs: Any) -> None:
    queue, _ = _queues(sqs)
    _send(sqs, queue, "a", "b")
    runner = SqsRunner(
        handler=Recorder(raise_error=True), queue_url=queue, sqs_client=sqs, wait_time_seconds=0
    )
    result = runner.poll_once()
    assert isinstance(result.error, RuntimeError)
    assert (result.deleted, len(result.failed)) == (0, 2)
    assert _count(sqs, queue) == 2


def test_invalid_failure_list_fails_the_whole_batch(sqs: Any) -> None:
    queue, _ = _queues(sqs)
    _send(sqs, queue, "a", "b")

    def handler(event: dict[str, Any], context: Any) -> Any:
        return {"batchItemFailures": [{"itemIdentifier": "not-a-message-id"}]}

    result = SqsRunner(handler=handler, queue_url=queue, sqs_client=sqs, wait_time_seconds=0).poll_once()
    assert result.deleted == 0
    assert _count(sqs, queue) == 2


def test_failures_ignored_without_report_batch_item_failures(sqs: Any) -> None:
    queue, _ = _queues(sqs)
    _send(sqs, queue, "poison")
    runner = SqsRunner(
        handler=Recorder(fail={"poison"}),
        queue_url=queue,
        sqs_client=sqs,
        wait_time_seconds=0,
        report_batch_item_failures=False,
    )
    assert runner.poll_once().deleted == 1


def test_batch_size(sqs: Any) -> None:
    queue, _ = _queues(sqs)
    _send(sqs, queue, *[str(i) for i in range(5)])
    handler = Recorder()
    SqsRunner(handler=handler, queue_url=queue, sqs_client=sqs, batch_size=2, wait_time_seconds=0).drain()
    assert [len(e["Records"]) for e in handler.events] == [2, 2, 1]
    with pytest.raises(ValueError, match="batch_size"):
        SqsRunner(handler=handler, queue_url=queue, sqs_client=sqs, batch_size=11)


def test_background_polling(sqs: Any) -> None:
    queue, _ = _queues(sqs)
    handler = Recorder()
    runner = SqsRunner(handler=handler, queue_url=queue, sqs_client=sqs, wait_time_seconds=1).start()
    try:
        _send(sqs, queue, "x")
        deadline = time.monotonic() + 5
        while not handler.events and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
    assert handler.events[0]["Records"][0]["body"] == "x"


def test_a_background_runner_never_removes_variables_while_other_threads_read_the_environment(
    sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore iterates os.environ (proxy lookup) on every client it creates; a key deleted between
    # its snapshot and its lookup raised KeyError in the demo's main thread.
    monkeypatch.delenv("EMU_RUNNER_ONLY", raising=False)
    queue, _ = _queues(sqs)
    handler = Recorder()
    runner = SqsRunner(
        handler=handler,
        queue_url=queue,
        sqs_client=sqs,
        environment={"EMU_RUNNER_ONLY": "set"},
        wait_time_seconds=0,
    ).start()
    try:
        _send(sqs, queue, "a", "b", "c")
        deadline = time.monotonic() + 5
        while len(handler.events) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert handler.events, "the runner invoked nothing"
        # between invocations the variable stays set: no deletion can race a reader
        assert os.environ.get("EMU_RUNNER_ONLY") == "set"
    finally:
        runner.stop()
    assert "EMU_RUNNER_ONLY" not in os.environ  # removed once the thread has stopped


def test_a_synchronous_poll_restores_the_environment_at_once(
    sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMU_RUNNER_ONLY", raising=False)
    queue, _ = _queues(sqs)
    _send(sqs, queue, "a")
    handler = Recorder()
    SqsRunner(
        handler=handler,
        queue_url=queue,
        sqs_client=sqs,
        environment={"EMU_RUNNER_ONLY": "set"},
        wait_time_seconds=0,
    ).drain()
    assert handler.events and "EMU_RUNNER_ONLY" not in os.environ


def test_from_event_source_mapping_imports_the_deployed_handler(
    sqs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "emu_sample_fn.py").write_text(
        "import os\nTABLE = os.environ['LEDGER_TABLE']\n"
        "def handler(event, context):\n    return {'table': TABLE, 'n': len(event['Records'])}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    queue, _ = _queues(sqs)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("emu_sample_fn.py", "")
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_function(
        FunctionName="fn",
        Runtime="python3.12",
        Role=role,
        Handler="emu_sample_fn.handler",
        Code={"ZipFile": buf.getvalue()},
        Environment={"Variables": {"LEDGER_TABLE": "ledger"}},
        Timeout=60,
    )
    lam.create_event_source_mapping(
        FunctionName="fn",
        EventSourceArn=queue_arn,
        BatchSize=5,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    runner = from_event_source_mapping(
        lambda_client=lam, sqs_client=sqs, function_name="fn", wait_time_seconds=0
    )
    assert (runner.batch_size, runner.report_batch_item_failures, runner.timeout_seconds) == (5, True, 60.0)
    assert runner.environment == {"LEDGER_TABLE": "ledger"}
    assert runner.handler({"Records": [1]}, None) == {"table": "ledger", "n": 1}


def test_import_handler_sets_the_environment_for_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "emu_env_fn.py").write_text(
        "import os\nSEEN = os.environ['X_EMU']\ndef handler(e, c):\n    return SEEN\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_handler("emu_env_fn.handler", {"X_EMU": "1"})({}, None) == "1"
    assert "X_EMU" not in os.environ


def test_fake_context() -> None:
    ctx = FakeContext("f", REGION, ACCOUNT, timeout_seconds=0.0)
    assert ctx.get_remaining_time_in_millis() == 0
    assert ctx.log_group_name == "/aws/lambda/f"
