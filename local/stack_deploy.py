"""Bootstrap and deploy the synthesized stacks into the local emulator with the real CDK CLI.

Synth runs once (to a cloud assembly directory); then, per account, with that account's admin
credentials of the emulator: ``cdk bootstrap aws://ACCOUNT/REGION`` and
``cdk deploy --app <assembly> --require-approval never <that account's stacks>``. Order: the
registry stacks (``MlopsRegistry``, ``MlopsRegistryTeams*``), the serving stacks, the deployer.

The CLI reaches the emulator through ``AWS_ENDPOINT_URL=http://localhost:PORT`` (``localhost``, not
``127.0.0.1``: moto then misreads the template URL's bucket), except S3 (see :func:`s3_endpoint`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.emulator.server import Credentials

ROOT = Path(__file__).resolve().parents[1]
CDK = ["npx", "--no-install", "cdk"]
QUIET_ENV = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Variables that would point the CLI somewhere else than the account we mean.
_DROP = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)

Log = Callable[[str], None]


class DeployError(RuntimeError):
    """A CDK CLI step failed; the message names the step and ends with the CLI's output."""


@dataclass(frozen=True)
class StackInfo:
    name: str
    account: str
    region: str
    dependencies: tuple[str, ...] = ()


@dataclass
class Assembly:
    """What the cloud assembly holds: its directory and its stacks with their environments."""

    directory: Path
    stacks: list[StackInfo] = field(default_factory=list)

    @property
    def environments(self) -> list[tuple[str, str]]:
        return sorted({(s.account, s.region) for s in self.stacks})

    def stage(self, registry_account: str) -> list[list[StackInfo]]:
        """Deploy stages: registry stacks, serving stacks, the deployer (and anything else last)."""
        registry = [s for s in self.stacks if s.name.startswith("MlopsRegistry")]
        serving = [s for s in self.stacks if s.name.startswith("MlopsServing")]
        rest = [s for s in self.stacks if s not in registry and s not in serving]
        return [stage for stage in (registry, serving, rest) if stage]


def read_assembly(directory: Path) -> Assembly:
    manifest = json.loads((directory / "manifest.json").read_text())
    stacks = []
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        env = artifact["environment"]  # aws://ACCOUNT/REGION
        account, region = env.removeprefix("aws://").split("/")
        deps = tuple(d for d in artifact.get("dependencies", []) if not d.endswith(".assets"))
        stacks.append(StackInfo(artifact.get("displayName", name), account, region, deps))
    return Assembly(directory, stacks)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env.update(QUIET_ENV)
    env.update(extra or {})
    return env


def _run(step: str, args: list[str], env: dict[str, str], log: Log) -> None:
    started = time.monotonic()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise DeployError(f"{step} failed (exit {proc.returncode}):\n{tail}")
    log(f"{step}: done in {time.monotonic() - started:.1f} s")


def synth(config: Path, out_dir: Path, *, log: Log = print, nag: bool = False) -> Assembly:
    """``cdk synth`` of every stack of ``config`` into ``out_dir`` (offline; no credentials needed).

    cdk-nag is skipped by default (``make test`` runs it on the same app); ``nag=True`` keeps it.
    """
    env = _env(
        {
            "AWS_ACCESS_KEY_ID": "synth",
            "AWS_SECRET_ACCESS_KEY": "synth",
            "AWS_DEFAULT_REGION": "us-east-1",
            "MLOPS_SKIP_NAG": "0" if nag else "1",
        }
    )
    env.pop("AWS_ENDPOINT_URL", None)
    app = f"{sys.executable} app.py"
    args = [
        *CDK,
        "synth",
        "--no-notices",
        "--quiet",
        "--app",
        app,
        "-o",
        str(out_dir),
        "-c",
        f"config={config}",
    ]
    _run("cdk synth", args, env, log)
    return read_assembly(out_dir)


def s3_endpoint(endpoint_url: str) -> str:
    """The S3 endpoint for the CLI: the loopback IP, so the SDK addresses buckets path-style.

    With a host name the JavaScript SDK puts the bucket into the host (``<bucket>.localhost``),
    which not every resolver maps to the loopback address.
    """
    return endpoint_url.replace("://localhost", "://127.0.0.1", 1)


def account_env(endpoint_url: str, creds: Credentials, region: str) -> dict[str, str]:
    """Environment for a CDK CLI run as the emulator admin of one account."""
    return _env(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ENDPOINT_URL_S3": s3_endpoint(endpoint_url),
            "AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }
    )


def bootstrap(
    endpoint_url: str, creds: Credentials, account: str, region: str, app: Path, *, log: Log = print
) -> None:
    # --app: the CLI reads the assembly instead of synthesizing cdk.json's app into ./cdk.out
    args = [*CDK, "bootstrap", "--no-notices", "--app", str(app), f"aws://{account}/{region}"]
    _run(f"cdk bootstrap aws://{account}/{region}", args, account_env(endpoint_url, creds, region), log)


def deploy_stacks(
    endpoint_url: str,
    creds: Credentials,
    assembly: Assembly,
    stacks: Iterable[StackInfo],
    *,
    log: Log = print,
) -> None:
    stacks = list(stacks)
    region = stacks[0].region
    names = [s.name for s in stacks]
    args = [
        *CDK,
        "deploy",
        "--no-notices",
        "--app",
        str(assembly.directory),
        "--require-approval",
        "never",
        "--progress",
        "events",
        "--concurrency",
        "4",
        "--exclusively",
        *names,
    ]
    _run(f"cdk deploy {' '.join(names)}", args, account_env(endpoint_url, creds, region), log)


def deploy_all(
    endpoint_url: str,
    credentials: dict[str, Credentials],
    assembly: Assembly,
    *,
    registry_account: str,
    log: Log = print,
) -> None:
    """Bootstrap every account the assembly deploys to, then deploy stage by stage.

    Accounts are independent within a step, so their CLI runs go in parallel.
    """
    missing = sorted({s.account for s in assembly.stacks} - set(credentials))
    if missing:
        raise DeployError(f"no emulator credentials for account(s) {', '.join(missing)}")
    with ThreadPoolExecutor(max_workers=4) as pool:
        _all(
            pool.map(
                lambda env: bootstrap(
                    endpoint_url, credentials[env[0]], env[0], env[1], assembly.directory, log=log
                ),
                assembly.environments,
            )
        )
        for stage in assembly.stage(registry_account):
            groups: dict[tuple[str, str], list[StackInfo]] = {}
            for stack in stage:
                groups.setdefault((stack.account, stack.region), []).append(stack)
            _all(
                pool.map(
                    lambda item: deploy_stacks(
                        endpoint_url, credentials[item[0][0]], assembly, item[1], log=log
                    ),
                    sorted(groups.items()),
                )
            )


def _all(results: Iterable[Any]) -> None:
    for _ in results:  # re-raises the first failure
        pass
