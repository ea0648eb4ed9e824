"""``make demo``: the whole multi-account flow on the local emulator, narrated.

Starts the emulator, deploys every stack of the config with the real CDK CLI (``local.emulator.up``),
then plays the scenario through public AWS APIs only (each actor with its own account's credentials
and the team roles it assumes), and ``mlops history``. Exits 0 when every step had its outcome.
The end-to-end test (tests/e2e) runs the same :class:`Scenario` and checks each step again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local.emulator.up import DEFAULT_CONFIG, LocalAws
from local.traffic import Traffic, TrafficReport

ENDPOINT = "fraud-detector-prod"
EVALUATIONS = {
    tag: {"binary_classification_metrics": {"auc": {"value": auc}, "f1": {"value": f1}}}
    for tag, auc, f1 in (("v1", 0.912, 0.801), ("v2", 0.874, 0.762), ("v3", 0.931, 0.823))
}
GROUP = "fraud-detector"
TEAM = "fraud"
IMAGE = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/fraud-detector:1.4"
TIMEOUT = 60.0
# The load generator during each update: 4 threads, bounded by a request count and a time limit.
LOAD_THREADS = 4
LOAD_MAX_REQUESTS = 20_000
LOAD_RATE = 60.0  # requests per second: enough to see the shares, little enough to leave CPU to the rest

Say = Callable[[str], None]


class ScenarioError(AssertionError):
    """A step did not have its outcome in time; the message says what was expected and seen."""


@dataclass
class StepResult:
    title: str
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scenario:
    """The narrated flow, as the actors do it: each actor is a boto3 session of its own account."""

    info: dict[str, Any]
    say: Say = print
    results: list[StepResult] = field(default_factory=list)
    packages: dict[int, str] = field(default_factory=dict)
    traffic: dict[str, TrafficReport] = field(default_factory=dict)

    # --- actors ------------------------------------------------------------------------------

    def admin(self, account: str) -> Any:
        creds = self.info["accounts"][account]
        return boto3.session.Session(
            aws_access_key_id=creds["access_key_id"],
            aws_secret_access_key=creds["secret_access_key"],
            aws_session_token=None,
            region_name=self.info["region"],
        )

    def client(self, session: Any, service: str) -> Any:
        return session.client(service, endpoint_url=self.info["endpoint_url"])

    def assume(self, from_account: str, role_arn: str, session_name: str, via: str | None = None) -> Any:
        """A session of ``role_arn``, assumed by ``from_account``'s admin, or with ``via`` by a session
        of that role of ``from_account`` first (admin -> person role -> role)."""
        session = self.admin(from_account)
        if via:
            session = self.assume_from(session, via, session_name)
        return self.assume_from(session, role_arn, session_name)

    def assume_from(self, session: Any, role_arn: str, session_name: str) -> Any:
        sts = self.client(session, "sts")
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.info["region"],
        )

    def person(self, team: str, duty: str, session_name: str) -> Any:
        """Where a team's publisher or approver starts: the role a person signs in with when the team's
        roles are narrowed to principals (``roles.<team>.people``), else the account's admin."""
        roles = self.info["roles"][team]
        account = roles["account"] if duty == "publisher" else roles["approver_account"]
        via = roles.get("people", {}).get(duty)
        return self.assume(account, via, session_name) if via else self.admin(account)

    def as_team(self, team: str, duty: str, session_name: str) -> Any:
        """A session of ``team``'s ``duty`` role (``publisher`` or ``approver``), as its people get one."""
        return self.assume_from(
            self.person(team, duty, session_name), self.info["roles"][team][duty], session_name
        )

    @property
    def deployment(self) -> dict[str, Any]:
        return next(d for d in self.info["deployments"] if d["endpoint"] == ENDPOINT)

    @property
    def team(self) -> dict[str, str]:
        return dict(self.info["roles"][TEAM])

    def publisher(self) -> Any:
        return self.client(self.as_team(TEAM, "publisher", "data-scientist"), "sagemaker")

    def approver(self) -> Any:
        return self.client(self.as_team(TEAM, "approver", "approver"), "sagemaker")

    def serving(self, service: str) -> Any:
        return self.client(self.admin(self.deployment["account"]), service)

    def registry(self, service: str) -> Any:
        return self.client(self.admin(self.info["registry_account"]), service)

    # --- observations ------------------------------------------------------------------------

    def endpoint(self) -> dict[str, Any] | None:
        try:
            return dict(self.serving("sagemaker").describe_endpoint(EndpointName=ENDPOINT))
        except ClientError as exc:
            if "Could not find" in str(exc):
                return None
            raise

    def served_version(self) -> int | None:
        """The version the endpoint serves, read from AWS: endpoint -> config -> model -> package."""
        endpoint = self.endpoint()
        if endpoint is None:
            return None
        sm = self.serving("sagemaker")
        config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
        return int(containers[0]["ModelPackageName"].rsplit("/", 1)[1])

    def ledger(self) -> list[dict[str, Any]]:
        """The endpoint's ledger entries, oldest first (one Query)."""
        d = self.deployment
        eid = f"{d['account']}/{d['region']}/{d['endpoint']}"
        items = self.registry("dynamodb").query(
            TableName=self.info["ledger_table"],
            KeyConditionExpression="endpoint_id = :e",
            ExpressionAttributeValues={":e": {"S": eid}},
        )["Items"]
        return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]

    def wait(self, what: str, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
        """Poll (0.1 s) until ``check()`` is truthy; the emulator's clock and the runner move things."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise ScenarioError(f"timed out after {timeout:.0f} s waiting for: {what}")
            time.sleep(0.1)

    def ledger_has(self, status: str, version: int) -> dict[str, Any] | None:
        return next(
            (
                e
                for e in reversed(self.ledger())
                if e["status"] == status and int(e.get("version", 0)) == version
            ),
            None,
        )

    def status_is(self, status: str) -> bool:
        endpoint = self.endpoint()
        return endpoint is not None and endpoint["EndpointStatus"] == status

    @contextmanager
    def load(self, what: str) -> Iterator[Traffic]:
        """Call the endpoint concurrently while the block runs; print requests, errors and shares per phase."""
        traffic = Traffic(
            self.serving,
            ENDPOINT,
            endpoint_url=self.info["endpoint_url"],
            concurrency=LOAD_THREADS,
            max_requests=LOAD_MAX_REQUESTS,
            time_limit=TIMEOUT,
            rate=LOAD_RATE,
        )
        with traffic:
            yield traffic
            time.sleep(0.3)  # a few requests after the outcome, so the last phase is measured too
        report = traffic.report()
        self.traffic[what] = report
        self.say(f"    traffic during {what} ({report.seconds:.1f} s, {LOAD_THREADS} clients):")
        for line in report.lines():
            self.say(f"      {line}")

    # --- steps -------------------------------------------------------------------------------

    def step(self, title: str, fn: Callable[[], dict[str, Any]]) -> StepResult:
        number = len(self.results) + 1
        self.say(f"\n[{number}] {title}")
        started = time.monotonic()
        facts = fn()
        result = StepResult(title, time.monotonic() - started, facts)
        self.results.append(result)
        return result

    def register(self, version_tag: str) -> str:
        bucket = f"mlops-artifacts-{self.info['registry_account']}-{self.info['region']}"
        key = f"{TEAM}/{GROUP}/{version_tag}/model.tar.gz"
        session = self.as_team(TEAM, "publisher", "data-scientist")
        # artifacts are write-once: the bucket policy refuses a write without If-None-Match (issue 9)
        self.client(session, "s3").put_object(
            Bucket=bucket, Key=key, Body=b"model weights " + version_tag.encode(), IfNoneMatch="*"
        )
        # the evaluation report a pipeline's evaluation step writes (what `mlops ui` charts)
        report_key = f"{TEAM}/{GROUP}/{version_tag}/evaluation.json"
        self.client(session, "s3").put_object(
            Bucket=bucket,
            Key=report_key,
            Body=json.dumps(EVALUATIONS.get(version_tag, EVALUATIONS["v1"])).encode(),  # more versions: tests
            IfNoneMatch="*",
        )
        arn = self.client(session, "sagemaker").create_model_package(
            ModelPackageGroupName=GROUP,
            ModelPackageDescription=f"fraud detector {version_tag}",
            ModelApprovalStatus="PendingManualApproval",
            ModelMetrics={
                "ModelQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{bucket}/{report_key}"}
                }
            },
            InferenceSpecification={
                "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/{key}"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        version = int(arn.rsplit("/", 1)[1])
        self.packages[version] = arn
        self.say(f"    registered {arn} (PendingManualApproval; artifact s3://{bucket}/{key})")
        return arn

    def set_status(self, version: int, status: str, why: str) -> None:
        self.approver().update_model_package(
            ModelPackageArn=self.packages[version], ModelApprovalStatus=status, ApprovalDescription=why
        )
        self.say(f"    approver set version {version} to {status} ({why})")

    def watch_update(self, to_version: int) -> list[str]:
        """Wait for Updating, then InService serving ``to_version``; returns the statuses seen."""
        seen = [self.wait("endpoint Updating", lambda: self.status_is("Updating") and "Updating")]
        self.say(f"    endpoint {ENDPOINT}: Updating ({self.rollout_text()})")
        self.wait(
            f"endpoint InService on version {to_version}",
            lambda: self.status_is("InService") and self.served_version() == to_version,
        )
        seen.append("InService")
        self.say(f"    endpoint {ENDPOINT}: InService, serving version {to_version}")
        return seen

    def rollout_text(self, described: dict[str, Any] | None = None) -> str:
        endpoint = described or self.endpoint() or {}
        policy = (endpoint.get("LastDeploymentConfig") or {}).get("BlueGreenUpdatePolicy") or {}
        shifting = policy.get("TrafficRoutingConfiguration") or {}
        size = (shifting.get("CanarySize") or shifting.get("LinearStepSize") or {}).get("Value")
        alarms = [
            a["AlarmName"]
            for a in (
                (endpoint.get("LastDeploymentConfig") or {}).get("AutoRollbackConfiguration") or {}
            ).get("Alarms", [])
        ]
        return f"blue/green {shifting.get('Type', '?').lower()} {size}%, auto-rollback on {', '.join(alarms) or 'none'}"

    def run(self) -> list[StepResult]:
        d = self.deployment
        self.say(
            f"Endpoint {ENDPOINT} lives in account {d['account']}, follows '{d['follows']}' of group {GROUP} "
            f"(registry account {self.info['registry_account']}), rollout {d['rollout']}."
        )
        team = self.team
        self.step(
            f"A data scientist in account {team['account']} registers v1 through the publisher role",
            self._register_v1,
        )
        self.step(
            "The publisher tries to approve v1 and is refused (separation of duties)", self._publisher_refused
        )
        self.step(
            f"The approver (account {team['approver_account']}) approves v1: the deployer creates the endpoint in {d['account']}",
            self._approve_v1,
        )
        self.step("v2 is registered and approved: in-place blue/green update", self._update_to_v2)
        self.step("v2 is rejected: the endpoint rolls back to v1", self._reject_v2)
        self.step(
            "v3 is approved but its canary trips the 5XX alarm: SageMaker rolls back by itself",
            self._alarm_rollback,
        )
        self.step("mlops history: the timeline and a point-in-time question", self._history)
        self.step(
            f"The fraud team's training pipeline in its own account {team['account']}", self._team_pipeline
        )
        self.step(
            "The publisher tries to register straight into Production: refused", self._straight_to_production
        )
        return self.results

    def _straight_to_production(self) -> dict[str, Any]:
        """Registration may not set a lifecycle stage: only approvers stage versions (issue 9)."""
        bucket = f"mlops-artifacts-{self.info['registry_account']}-{self.info['region']}"
        try:
            self.publisher().create_model_package(
                ModelPackageGroupName=GROUP,
                ModelApprovalStatus="PendingManualApproval",
                ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"},
                InferenceSpecification={
                    "Containers": [
                        {"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/{TEAM}/{GROUP}/v1/model.tar.gz"}
                    ],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            self.say(f"    refused: {code}: {exc.response['Error']['Message'][:110]}...")
            return {"refused": code}
        raise ScenarioError("the publisher role registered a version straight into Production")

    def _team_pipeline(self) -> dict[str, Any]:
        sagemaker = self.client(self.admin(self.team["account"]), "sagemaker")
        pipeline = sagemaker.describe_pipeline(PipelineName="mlops-fraud")
        steps = json.loads(pipeline["PipelineDefinition"])["Steps"]
        register = next(
            (
                s
                for step in steps
                for s in step.get("Arguments", {}).get("IfSteps", [])
                if s["Type"] == "RegisterModel"
            ),
            None,
        )
        group = register["Arguments"]["ModelPackageGroupName"] if register else None
        self.say(
            f"    pipeline mlops-fraud: steps {[step['Name'] for step in steps]}, registers into {group}"
        )
        self.say("    (the emulator stores pipelines; it does not run their steps)")
        return {
            "pipeline": pipeline["PipelineName"],
            "steps": [step["Name"] for step in steps],
            "group": group,
        }

    def _register_v1(self) -> dict[str, Any]:
        arn = self.register("v1")
        status = self.registry("sagemaker").describe_model_package(ModelPackageName=arn)[
            "ModelApprovalStatus"
        ]
        return {"arn": arn, "status": status}

    def _publisher_refused(self) -> dict[str, Any]:
        try:
            self.publisher().update_model_package(
                ModelPackageArn=self.packages[1], ModelApprovalStatus="Approved"
            )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            self.say(f"    refused: {code}: {exc.response['Error']['Message'][:110]}...")
            return {"refused": code}
        raise ScenarioError("the publisher role could approve its own version")

    def _approve_v1(self) -> dict[str, Any]:
        with self.load("create (no endpoint, then Creating: AWS's error; then InService)"):
            self.set_status(1, "Approved", "validation metrics reviewed")
            self.wait("endpoint created", lambda: self.endpoint() is not None)
            self.say(f"    endpoint {ENDPOINT}: {self.endpoint()['EndpointStatus']}")  # type: ignore[index]
            self.wait(
                "endpoint InService on version 1",
                lambda: self.status_is("InService") and self.served_version() == 1,
            )
        live = self.wait("ledger: v1 live", lambda: self.ledger_has("live", 1))
        self.say(f"    endpoint {ENDPOINT}: InService, serving version 1; ledger: live at {live['at']}")
        return {"served": self.served_version(), "ledger": live}

    def _update_to_v2(self) -> dict[str, Any]:
        self.register("v2")
        with self.load("update to v2"):
            self.set_status(2, "Approved", "better recall")
            seen = self.watch_update(2)
        live = self.wait("ledger: v2 live", lambda: self.ledger_has("live", 2))
        self.v2_live_at = datetime.now(UTC)
        return {
            "statuses": seen,
            "ledger": live,
            "deployment_config": (self.endpoint() or {})["LastDeploymentConfig"],
        }

    def _reject_v2(self) -> dict[str, Any]:
        time.sleep(0.01)  # a point in time strictly between "v2 live" and the rejection
        with self.load("rollback to v1 after the rejection"):
            self.set_status(2, "Rejected", "false positives in production")
            seen = self.watch_update(1)
        live = self.wait(
            "ledger: v1 live again",
            lambda: (e := self.ledger()[-1])["status"] == "live" and int(e["version"]) == 1 and e,
        )
        return {"statuses": seen, "ledger": live}

    @staticmethod
    def new_fleet_alarm(endpoint: dict[str, Any]) -> str:
        """The 5XX rollback alarm of the update in progress (named in its DeploymentConfig)."""
        config = endpoint.get("LastDeploymentConfig") or {}
        names = [a["AlarmName"] for a in (config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])]
        return next(n for n in names if n.endswith("-5xx"))

    def _alarm_rollback(self) -> dict[str, Any]:
        self.register("v3")
        cloudwatch = self.serving("cloudwatch")
        with self.load("update to v3, rolled back by the alarm"):
            self.set_status(3, "Approved", "hotfix")
            updating = self.wait(
                "endpoint Updating to v3",
                lambda: (e := self.endpoint()) is not None and e["EndpointStatus"] == "Updating" and e,
            )
            self.say(f"    endpoint {ENDPOINT}: Updating ({self.rollout_text(updating)})")
            # the deployer made this update's alarms: they watch the new fleet (its EndpointConfigName)
            # only. Set while the new fleet is provisioned: SageMaker watches alarms from the canary wait
            # on, so the rollback starts with the canary (and the step does not race the emulator's clock)
            alarm = self.new_fleet_alarm(updating)
            cloudwatch.set_alarm_state(
                AlarmName=alarm, StateValue="ALARM", StateReason="canary 5XX errors above threshold"
            )
            self.say(f"    alarm {alarm} (account {self.deployment['account']}) -> ALARM")
            # RollingBack lasts about a second: on a busy machine a poll may miss it, the ledger does not
            seen = self.wait(
                "endpoint RollingBack (or rolled back)",
                lambda: (
                    ("RollingBack" if self.status_is("RollingBack") else None)
                    or ("rolled back" if self.ledger_has("rolled_back", 3) else None)
                ),
            )
            self.say(f"    endpoint {ENDPOINT}: {seen}")
            self.wait(
                "endpoint InService on version 1",
                lambda: self.status_is("InService") and self.served_version() == 1,
            )
        rolled = self.wait("ledger: v3 rolled back", lambda: self.ledger_has("rolled_back", 3))
        if cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]:
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="recovered")
        self.say(
            f"    endpoint {ENDPOINT}: InService, still serving version 1; ledger: rolled_back ({rolled.get('reason')})"
        )
        return {"served": self.served_version(), "ledger": rolled}

    def _history(self) -> dict[str, Any]:
        timeline = self.mlops("history", ENDPOINT)
        self.say("    $ mlops history " + ENDPOINT)
        self.say("\n".join("    " + line for line in timeline.splitlines()))
        at = self.v2_live_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        answer = self.mlops("history", ENDPOINT, "--at", at)
        self.say(f"    $ mlops history {ENDPOINT} --at {at}")
        self.say("\n".join("    " + line for line in answer.splitlines()))
        return {"timeline": timeline, "at": at, "answer": answer}

    def mlops(self, *args: str) -> str:
        """The `mlops` command as a user runs it: registry admin credentials, the emulator's URL."""
        creds = self.info["accounts"][self.info["registry_account"]]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=creds["access_key_id"],
            AWS_SECRET_ACCESS_KEY=creds["secret_access_key"],
            AWS_DEFAULT_REGION=self.info["region"],
            AWS_ENDPOINT_URL=self.info["endpoint_url"],
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        code = "import sys; from mlops_cli.main import main; sys.exit(main())"
        proc = subprocess.run(
            [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise ScenarioError(f"mlops {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
        return proc.stdout.rstrip()


def summary(results: list[StepResult], deploy_seconds: float, total_seconds: float) -> str:
    lines = ["", "Summary", "-------"]
    lines += [f"  ok  {r.title} ({r.seconds:.1f} s)" for r in results]
    lines.append(
        f"  stacks bootstrapped and deployed with the CDK CLI in {deploy_seconds:.0f} s; total {total_seconds:.0f} s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--port", type=int, default=0, help="emulator port (default: any free port)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print("Starting the local AWS emulator and deploying every stack with the CDK CLI...", flush=True)
    log = lambda m: print("  " + m, flush=True)  # noqa: E731
    with LocalAws(config_path=args.config, port=args.port, log=log, function_log_level="WARNING") as local:
        deployed = time.monotonic() - started
        scenario = Scenario(local.info, say=lambda m: print(m, flush=True))
        try:
            results = scenario.run()
        except ScenarioError as exc:
            print(f"\nFAILED: {exc}", file=sys.stderr)
            return 1
    print(summary(results, deployed, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
