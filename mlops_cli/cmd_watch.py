"""`watch ENDPOINT`: follow a rollout live; exit with its outcome.

Polls DescribeEndpoint (in the endpoint's account, through the deploy-access role like `status`) and
prints a line whenever something changes: status, phase (``PendingDeploymentSummary.ProductionVariants
[].VariantStatus``), traffic share per version, the rollback alarms' states, a progress bar. Ends when
the endpoint is InService again (exit 0 when the new version serves, 7 when it was rolled back),
Failed (5), or after --timeout (5). With no rollout in progress it prints the state and exits 0, or
with --wait waits for the next rollout to start.

The share comes from the phase's status message when it states one (the local emulator does:
"canary: 25% of traffic on the new fleet ..."); otherwise it is derived from the phase (provisioning:
0%, baking of an all-at-once update: 100%) or shown as unknown.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlops_cli.context import Context, Result
from mlops_cli.deployments import resolve_endpoint
from mlops_cli.endpoints import _served_package
from mlops_cli.errors import EXIT_OK, EXIT_ROLLED_BACK, EXIT_STUCK, CliError
from mlops_cli.registry import version_from_arn

_SHARE = re.compile(r"^(?P<label>[a-z_]+(?: (?P<step>\d+))?): (?P<share>[\d.]+)% of traffic on the new fleet")
BAR_WIDTH = 20


@dataclass(frozen=True)
class Snapshot:
    """One observation of an endpoint (pure data, rendered by :func:`render`)."""

    status: str
    serving_version: int | None
    new_version: int | None = None
    phase: str | None = None  # e.g. "canary", "linear 2", "batch 1"
    variant_status: str | None = None  # ProductionVariantStatus.Status
    new_share: float | None = None  # percent on the new version, None when unknown
    step: int = 0  # phases done so far (0-based index of the current phase)
    steps: int = 0  # phases of the whole rollout (0: unknown)
    alarms: dict[str, str] = field(default_factory=dict)
    failure_reason: str | None = None

    @property
    def busy(self) -> bool:
        return self.status in ("Creating", "Updating", "RollingBack", "SystemUpdating", "Deleting")


def planned_phases(deployment_config: dict[str, Any] | None, instances: int) -> list[str]:
    """The phase labels a DeploymentConfig goes through (for the progress bar)."""
    config = deployment_config or {}
    rolling = config.get("RollingUpdatePolicy")
    if rolling:
        size = rolling.get("MaximumBatchSize") or {}
        value = float(size.get("Value") or 50)
        batch = value if size.get("Type") == "INSTANCE_COUNT" else max(1, math.ceil(instances * value / 100))
        batches = max(1, math.ceil(instances / batch))
        return [p for k in range(1, batches + 1) for p in (f"provisioning {k}", f"batch {k}")]
    routing = (config.get("BlueGreenUpdatePolicy") or {}).get("TrafficRoutingConfiguration") or {}
    phases = ["provisioning"]
    if routing.get("Type") == "CANARY":
        phases.append("canary")
    elif routing.get("Type") == "LINEAR":
        step = (routing.get("LinearStepSize") or {}).get("Value") or 10
        if (routing.get("LinearStepSize") or {}).get("Type") == "INSTANCE_COUNT":
            step = 100 * step / max(instances, 1)
        phases += [f"linear {k}" for k in range(1, math.ceil(round(100 / step, 9)))]
    return [*phases, "baking"]


def bar(done: int, total: int) -> str:
    if total <= 0:
        return "[" + "?" * BAR_WIDTH + "]"
    filled = round(BAR_WIDTH * min(done, total) / total)
    return "[" + "#" * filled + "." * (BAR_WIDTH - filled) + f"] {min(done, total)}/{total}"


def render(snap: Snapshot, at: datetime) -> str:
    """One line: time, status, phase, progress, share per version, alarms."""
    parts = [at.strftime("%H:%M:%S"), f"{snap.status:<11}"]
    if snap.phase:
        parts.append(f"{snap.phase:<14}")
        parts.append(bar(snap.step, snap.steps))
    old, new = snap.serving_version, snap.new_version
    if snap.busy and new is not None:
        if snap.new_share is None:
            parts.append(f"v{old} / v{new}: share unknown")
        else:
            parts.append(f"v{old} {100 - snap.new_share:g}% | v{new} {snap.new_share:g}%")
    elif old is not None:
        parts.append(f"v{old} 100%")
    if snap.alarms:
        parts.append("alarms: " + ", ".join(f"{name} {state}" for name, state in sorted(snap.alarms.items())))
    if snap.failure_reason:
        parts.append(f"failure: {snap.failure_reason}")
    return "  ".join(parts)


def outcome(first: Snapshot, last: Snapshot, saw_rollback: bool, target: int | None) -> tuple[int, str]:
    """Exit code and sentence for the end of a watch."""
    if last.status == "Failed":
        return EXIT_STUCK, f"Failed: {last.failure_reason or 'no reason given'}"
    if saw_rollback or (target is not None and last.serving_version != target):
        return EXIT_ROLLED_BACK, f"rolled back: v{last.serving_version} serves (v{target} did not stay)"
    return EXIT_OK, f"rollout complete: v{last.serving_version} serves all traffic"


def _share(variant_status: dict[str, Any], phase: str | None, config: dict[str, Any] | None) -> float | None:
    match = _SHARE.match(variant_status.get("StatusMessage") or "")
    if match:
        return float(match["share"])
    if variant_status.get("Status") == "Creating":
        return 0.0
    routing = ((config or {}).get("BlueGreenUpdatePolicy") or {}).get("TrafficRoutingConfiguration") or {}
    if variant_status.get("Status") == "Baking" and routing.get("Type") == "ALL_AT_ONCE":
        return 100.0
    return None


class _Reader:
    def __init__(self, ctx: Context, deployment: Any) -> None:
        scoped = ctx.aws.assumed(deployment.deploy_role_arn) if deployment.deploy_role_arn else ctx.aws
        self.sm = scoped.client("sagemaker", region=deployment.region)
        self.cloudwatch = scoped.client("cloudwatch", region=deployment.region)
        self.name = deployment.endpoint
        self._versions: dict[str, int | None] = {}
        self.alarm_access = True

    def version(self, config_name: str | None) -> int | None:
        if not config_name:
            return None
        if config_name not in self._versions:
            self._versions[config_name] = version_from_arn(_served_package(self.sm, config_name))
        return self._versions[config_name]

    def alarms(self, names: list[str]) -> dict[str, str]:
        from botocore.exceptions import ClientError

        if not names:
            return {}
        if not self.alarm_access:
            return dict.fromkeys(names, "unknown (no access)")
        try:
            found = self.cloudwatch.describe_alarms(AlarmNames=names).get("MetricAlarms", [])
        except ClientError:
            self.alarm_access = False
            return dict.fromkeys(names, "unknown (no access)")
        states = {a["AlarmName"]: a["StateValue"] for a in found}
        return {n: states.get(n, "missing") for n in names}

    def snapshot(self) -> Snapshot:
        endpoint = self.sm.describe_endpoint(EndpointName=self.name)
        config = endpoint.get("LastDeploymentConfig")
        alarm_names = [
            a["AlarmName"] for a in ((config or {}).get("AutoRollbackConfiguration") or {}).get("Alarms", [])
        ]
        pending = endpoint.get("PendingDeploymentSummary") or {}
        variants = pending.get("ProductionVariants") or []
        variant_status = ((variants[0].get("VariantStatus") or [{}])[0]) if variants else {}
        match = _SHARE.match(variant_status.get("StatusMessage") or "")
        phase = match["label"].replace("_", " ") if match else variant_status.get("Status")
        instances = int((variants[0] if variants else {}).get("DesiredInstanceCount") or 1)
        planned = planned_phases(config, instances) if pending else []
        step = (
            planned.index(phase)
            if phase in planned
            else (len(planned) if endpoint["EndpointStatus"] == "RollingBack" else 0)
        )
        return Snapshot(
            status=endpoint["EndpointStatus"],
            serving_version=self.version(endpoint.get("EndpointConfigName")),
            new_version=self.version(pending.get("EndpointConfigName")),
            phase=phase if pending else None,
            variant_status=variant_status.get("Status"),
            new_share=_share(variant_status, phase, config) if pending else None,
            step=step,
            steps=len(planned),
            alarms=self.alarms(alarm_names) if pending else {},
            failure_reason=endpoint.get("FailureReason"),
        )


def run_watch(ctx: Context, args: argparse.Namespace) -> Result:
    if args.interval <= 0 or args.timeout <= 0:
        raise CliError("--interval and --timeout must be > 0")
    deployment = resolve_endpoint(ctx.deployments(), args.endpoint)
    reader = _Reader(ctx, deployment)
    deadline = time.monotonic() + args.timeout
    first = last = reader.snapshot()
    live = not args.json  # --json prints only the outcome object

    def show(snap: Snapshot) -> None:
        if live:
            ctx.stdout.write(render(snap, datetime.now(UTC)) + "\n")
            ctx.stdout.flush()

    show(first)
    saw_rollback = first.status == "RollingBack"
    target = first.new_version
    started = first.busy
    while time.monotonic() < deadline:
        if not last.busy and (started or not args.wait):
            break
        time.sleep(args.interval)
        snap = reader.snapshot()
        started = started or snap.busy
        target = snap.new_version if snap.new_version is not None else target
        saw_rollback = saw_rollback or snap.status == "RollingBack"
        if snap != last:
            show(snap)
        last = snap
    if last.busy or (args.wait and not started):
        code, sentence = EXIT_STUCK, f"timed out after {args.timeout:g} s: {last.status}"
    elif not started:
        code, sentence = EXIT_OK, f"no rollout in progress: {last.status} on v{last.serving_version}"
    else:
        code, sentence = outcome(first, last, saw_rollback, target)
    data = {
        "endpoint": deployment.endpoint_id,
        "outcome": sentence,
        "serving_version": last.serving_version,
        "rolled_back": code == EXIT_ROLLED_BACK,
    }
    return Result(data, sentence, code)
