"""Deployer benchmarks (figures printed, not timed tests): ``python bench/deployer_bench.py [--json]``.

1. Cold start: ``import deployer.handler`` vs ``import boto3`` alone, each in fresh interpreters,
   median of several interleaved runs; budget 1.3x.
2. AWS calls per event, counted with botocore ``before-call`` hooks on moto + local.emulator:
   an approval that leads to an update (budget 8 including the ledger write) and a duplicate
   event (budget 3 reads, no write).
3. Decision latency: event received by the handler to UpdateEndpoint returned, against the local
   moto server with the emulator extension (``local.emulator.server.EmulatorServer``), median of 20.
4. Sweep fan-out: a sweep of 500 endpoints on moto + the emulator (``--endpoints N``,
   ``--only-sweep``): wall time, AWS calls, longest invocation against half the Lambda timeout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

REGION = "eu-west-1"
REGISTRY = "123456789012"
SERVING = "333333333333"
GROUP = "fraud-detector"
ENDPOINT = "fraud-detector-prod"
TABLE = "mlops-deployment-ledger"
COLD_START_BUDGET = 1.3
WRITES = {"CreateModel", "CreateEndpointConfig", "UpdateEndpoint", "CreateEndpoint", "PutItem", "Publish"}


# --- 1. cold start ------------------------------------------------------------------------------------


def _import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "lambdas"), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def cold_start(runs: int = 9) -> dict[str, Any]:
    boto3_times, handler_times = [], []
    for _ in range(runs):  # interleaved, so drift affects both alike
        boto3_times.append(_import_seconds("boto3"))
        handler_times.append(_import_seconds("deployer.handler"))
    boto3_ms = statistics.median(boto3_times) * 1000
    handler_ms = statistics.median(handler_times) * 1000
    return {
        "runs": runs,
        "import_boto3_ms": round(boto3_ms, 1),
        "import_handler_ms": round(handler_ms, 1),
        "ratio": round(handler_ms / boto3_ms, 3),
        "budget": COLD_START_BUDGET,
        "within_budget": handler_ms / boto3_ms <= COLD_START_BUDGET,
    }


# --- shared set-up ---------------------------------------------------------------------------------------


def _deployment(cross_account: bool) -> dict[str, Any]:
    account = SERVING if cross_account else REGISTRY
    return {
        "endpoint": ENDPOINT,
        "group": GROUP,
        "group_arn": f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package-group/{GROUP}",
        "account": account,
        "region": REGION,
        "follows": "Approved",
        "instance_type": "ml.m5.large",
        "instance_count": 2,
        "rollout": {"strategy": "canary", "step_percent": 25, "wait_seconds": 300, "bake_seconds": 600},
        "alarms": [f"mlops-{ENDPOINT}-5xx", f"mlops-{ENDPOINT}-latency"],
        "execution_role_arn": f"arn:aws:iam::{account}:role/mlops-sagemaker-execution",
        "deploy_role_arn": f"arn:aws:iam::{account}:role/mlops-deploy-access" if cross_account else None,
    }


def _setup_registry(client: Any) -> str:
    """Group, ledger table and topic in the registry account; returns the topic ARN."""
    client("sagemaker").create_model_package_group(ModelPackageGroupName=GROUP)
    client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "endpoint_id", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "endpoint_id", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return str(client("sns").create_topic(Name="mlops-deployments")["TopicArn"])


def _register_approved(sagemaker: Any) -> str:
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": f"{REGISTRY}.dkr.ecr.{REGION}.amazonaws.com/xgb:1",
                    "ModelDataUrl": "s3://b/m.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    return str(arn)


def _sqs(event: dict[str, Any], message_id: str = "m") -> dict[str, Any]:
    return {"Records": [{"messageId": message_id, "body": json.dumps(event), "eventSource": "aws:sqs"}]}


def _approval(arn: str) -> dict[str, Any]:
    version = int(arn.rsplit("/", 1)[1])
    return {
        "version": "0",
        "id": f"bench-approval-{version}",
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": REGISTRY,
        "time": "2026-11-20T10:00:00Z",
        "region": REGION,
        "resources": [arn],
        "detail": {
            "ModelPackageGroupName": GROUP,
            "ModelPackageVersion": version,
            "ModelPackageArn": arn,
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": "Approved",
            "InferenceSpecification": {"Containers": [{"Image": "x"}]},
        },
    }


def _endpoint_event(account: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "bench-endpoint",
        "detail-type": "SageMaker Endpoint State Change",
        "source": "aws.sagemaker",
        "account": account,
        "time": "2026-11-20T10:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "EndpointName": ENDPOINT,
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:{account}:endpoint/{ENDPOINT}",
            "EndpointStatus": "IN_SERVICE",
        },
    }


class _Context:
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


# --- 2. call counts -------------------------------------------------------------------------------------------


def call_counts() -> dict[str, Any]:
    import boto3
    from deployer import aws, handler
    from moto import mock_aws

    from local.emulator import advance, install

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    install()
    with mock_aws():
        topic = _setup_registry(lambda service: boto3.client(service, region_name=REGION))
        env = {
            "LEDGER_TABLE": TABLE,
            "TOPIC_ARN": topic,
            "REGISTRY_ACCOUNT": REGISTRY,
            "DEPLOYMENTS": json.dumps([_deployment(cross_account=True)]),
            "AWS_REGION": REGION,
        }
        os.environ.update(env)
        calls: list[str] = []
        session = boto3.Session(region_name=REGION)
        session.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
        aws._FACTORY = aws.ClientFactory(session=session)
        handler._SERVICE = None
        sagemaker = boto3.client("sagemaker", region_name=REGION)

        def run(event: dict[str, Any]) -> list[str]:
            calls.clear()
            handler.handler(_sqs(event), _Context())
            return list(calls)

        first = run(_approval(_register_approved(sagemaker)))  # cold sandbox: AssumeRole, CreateEndpoint
        advance()
        run(_endpoint_event(SERVING))
        update = run(_approval(_register_approved(sagemaker)))
        duplicate = run(_approval(f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package/{GROUP}/2"))
        handler._SERVICE = None
        aws.reset()
    return {
        "first_approval_cold_sandbox": {"count": len(first), "calls": first},
        "approval_leading_to_update": {
            "count": len(update),
            "calls": update,
            "budget": 8,
            "within_budget": len(update) <= 8,
        },
        "duplicate_event": {
            "count": len(duplicate),
            "calls": duplicate,
            "writes": sorted(WRITES & set(duplicate)),
            "budget": 3,
            "within_budget": len(duplicate) <= 3 and not WRITES & set(duplicate),
        },
    }


# --- 3. decision latency ----------------------------------------------------------------------------------------


def decision_latency(samples: int = 20) -> dict[str, Any]:
    """Event received (handler called) to UpdateEndpoint returned, against a local moto server."""
    import boto3
    from deployer import aws, handler

    from local.emulator.server import EmulatorServer

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    timings: list[float] = []
    with EmulatorServer(
        port=0, creating_seconds=0.05, updating_seconds=0.05, rolling_back_seconds=0.05, tick_interval=0.02
    ) as server:
        os.environ["AWS_ENDPOINT_URL"] = server.url
        try:
            topic = _setup_registry(
                lambda service: boto3.client(service, region_name=REGION, endpoint_url=server.url)
            )
            os.environ.update(
                {
                    "LEDGER_TABLE": TABLE,
                    "TOPIC_ARN": topic,
                    "REGISTRY_ACCOUNT": REGISTRY,
                    "DEPLOYMENTS": json.dumps([_deployment(cross_account=False)]),
                    "AWS_REGION": REGION,
                }
            )
            session = boto3.Session(region_name=REGION)
            returned: list[float] = []
            session.events.register(
                "after-call.sagemaker.UpdateEndpoint", lambda **_: returned.append(time.perf_counter())
            )
            aws._FACTORY = aws.ClientFactory(session=session)
            handler._SERVICE = None
            sagemaker = boto3.client("sagemaker", region_name=REGION, endpoint_url=server.url)

            def wait_in_service() -> None:
                for _ in range(500):
                    if sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "InService":
                        return
                    time.sleep(0.01)
                raise RuntimeError("endpoint did not reach InService")

            handler.handler(
                _sqs(_approval(_register_approved(sagemaker))), _Context()
            )  # create (and warm up)
            wait_in_service()
            for _ in range(samples):
                event = _sqs(_approval(_register_approved(sagemaker)))
                returned.clear()
                start = time.perf_counter()
                handler.handler(event, _Context())
                if not returned:
                    raise RuntimeError("the approval did not lead to UpdateEndpoint")
                timings.append(returned[0] - start)
                wait_in_service()
                handler.handler(_sqs(_endpoint_event(REGISTRY)), _Context())  # record live, clean up
        finally:
            os.environ.pop("AWS_ENDPOINT_URL", None)
            handler._SERVICE = None
            aws.reset()
    ms = sorted(t * 1000 for t in timings)
    return {
        "samples": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "min_ms": round(ms[0], 1),
        "max_ms": round(ms[-1], 1),
    }


# --- 4. sweep fan-out at scale ------------------------------------------------------------------------------

LAMBDA_TIMEOUT_SECONDS = 60  # stacks/constructs/deployer_function.py


def _scheduled(sweep_id: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": sweep_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": REGISTRY,
        "time": "2026-11-20T10:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {},
    }


def sweep_fan_out(endpoints: int = 500) -> dict[str, Any]:
    """A sweep of ``endpoints`` managed endpoints on moto + the emulator, drained as Lambda would
    (batches of 10 from the queue). Three sweeps: the first creates every endpoint, the second
    records them live, the third finds nothing to do. Invocations run one after the other here;
    Lambda runs up to two at once (max concurrency 2), so its wall time is about half."""
    import boto3
    from deployer import aws, handler
    from moto import mock_aws

    from local.emulator import advance, install

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    install()
    results: dict[str, Any] = {"endpoints": endpoints, "half_timeout_s": LAMBDA_TIMEOUT_SECONDS / 2}
    with mock_aws():
        topic = _setup_registry(lambda service: boto3.client(service, region_name=REGION))
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="mlops-deployer", Attributes={"VisibilityTimeout": "360"})[
            "QueueUrl"
        ]
        deployments = [
            {
                **_deployment(cross_account=False),
                "endpoint": f"bench-{i:04d}",
                "alarms": [f"mlops-bench-{i:04d}-5xx"],
            }
            for i in range(endpoints)
        ]
        os.environ.update(
            {
                "LEDGER_TABLE": TABLE,
                "TOPIC_ARN": topic,
                "REGISTRY_ACCOUNT": REGISTRY,
                "DEPLOYMENTS": json.dumps(deployments),
                "QUEUE_URL": queue_url,
                "AWS_REGION": REGION,
            }
        )
        calls: list[str] = []
        session = boto3.Session(region_name=REGION)
        session.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
        aws._FACTORY = aws.ClientFactory(session=session)
        handler._SERVICE = None
        _register_approved(boto3.client("sagemaker", region_name=REGION))

        def invoke(event: dict[str, Any]) -> float:
            start = time.perf_counter()
            response = handler.handler(event, _Context())
            if response["batchItemFailures"]:
                raise RuntimeError(f"the deployer failed messages: {response}")
            return time.perf_counter() - start

        def sweep(name: str) -> dict[str, Any]:
            calls.clear()
            started = time.perf_counter()
            durations = [invoke(_sqs(_scheduled(f"bench-{name}"), "sweep"))]
            messages = 0
            while True:
                batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
                if not batch:
                    break
                messages += len(batch)
                records = [
                    {"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"} for m in batch
                ]
                durations.append(invoke({"Records": records}))
                sqs.delete_message_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                    ],
                )
            wall = time.perf_counter() - started
            by_call: dict[str, int] = {}
            for call in calls:
                by_call[call] = by_call.get(call, 0) + 1
            return {
                "messages": messages,
                "invocations": len(durations),
                "fan_out_invocation_s": round(durations[0], 3),
                "max_invocation_s": round(max(durations), 3),
                "wall_s_sequential": round(wall, 2),
                "aws_calls": len(calls),
                "aws_calls_by_operation": dict(sorted(by_call.items())),
                "within_half_timeout": max(durations) <= LAMBDA_TIMEOUT_SECONDS / 2,
            }

        results["create_all"] = sweep("create")
        advance()
        results["record_live"] = sweep("live")
        results["steady_state"] = sweep("steady")
        handler._SERVICE = None
        aws.reset()
        for key in ("LEDGER_TABLE", "TOPIC_ARN", "REGISTRY_ACCOUNT", "DEPLOYMENTS", "QUEUE_URL"):
            os.environ.pop(key, None)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--runs", type=int, default=9, help="cold start runs per side")
    parser.add_argument("--endpoints", type=int, default=500, help="managed endpoints in the sweep benchmark")
    parser.add_argument("--only-sweep", action="store_true", help="run only the sweep benchmark")
    args = parser.parse_args()
    # the in-process moto server logs every request; the figures are what this prints
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if args.only_sweep:
        print(json.dumps(sweep_fan_out(args.endpoints), indent=2))
        return 0
    results = {
        "cold_start": cold_start(args.runs),
        "aws_calls": call_counts(),
        "decision_latency": decision_latency(),
        "sweep_fan_out": sweep_fan_out(args.endpoints),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    cold = results["cold_start"]
    print(
        f"cold start: import boto3 {cold['import_boto3_ms']} ms, import deployer.handler "
        f"{cold['import_handler_ms']} ms, ratio {cold['ratio']} (budget {cold['budget']}, median of {cold['runs']})"
    )
    for name, figures in results["aws_calls"].items():
        print(f"aws calls, {name.replace('_', ' ')}: {figures['count']} {figures['calls']}")
    latency = results["decision_latency"]
    print(
        f"decision latency (event -> UpdateEndpoint returned, local moto server): median {latency['median_ms']} ms "
        f"over {latency['samples']} (min {latency['min_ms']}, max {latency['max_ms']})"
    )
    sweep = results["sweep_fan_out"]
    for phase in ("create_all", "record_live", "steady_state"):
        f = sweep[phase]
        print(
            f"sweep of {sweep['endpoints']} endpoints, {phase.replace('_', ' ')}: {f['messages']} messages, "
            f"{f['invocations']} invocations, {f['aws_calls']} AWS calls, wall {f['wall_s_sequential']} s "
            f"(one invocation at a time), longest invocation {f['max_invocation_s']} s "
            f"(fan-out {f['fan_out_invocation_s']} s; half the timeout: {sweep['half_timeout_s']} s, "
            f"{'ok' if f['within_half_timeout'] else 'EXCEEDED'})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
