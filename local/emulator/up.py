"""``mlops local up [--config PATH] [--port N]``: the emulator with every stack deployed, in the foreground.

Starts the emulator (moto + this extension) on ``localhost:PORT``, gives every account of the config
an admin user, switches IAM enforcement on, bootstraps and deploys every stack with the real CDK CLI
(:mod:`local.stack_deploy`), then runs the deployed deployer function: :mod:`local.runner` polls
its queue and calls its handler in-process, with the function's deployed environment and, as Lambda
does, the credentials of its execution role (``mlops-deployer``), renewed before they expire; the
runner polls the queue with them too (see :class:`FunctionRole`). Writes a JSON file for scripts
(format below; its path is printed on a line of its own), prints ``ready`` and runs until Ctrl-C or
SIGTERM.

The JSON file::

    {"endpoint_url": "http://localhost:4566", "region": "eu-west-1",
     "registry_account": "111111111111",
     "accounts": {"111111111111": {"access_key_id": "...", "secret_access_key": "..."}, ...},
     "roles": {"fraud": {"account": "222222222222", "approver_account": "444444444444",
                         "publisher": "arn:aws:iam::111111111111:role/mlops-fraud-publisher",
                         "approver": "arn:aws:iam::111111111111:role/mlops-fraud-approver",
                         "people": {}}},
     "ledger_table": "mlops-deployment-ledger", "topic_arn": "...", "queue_url": "...",
     "deployer_function": "mlops-deployer", "catalog_path": "/mlops/deployments",
     "deployments": [...the deployer's DEPLOYMENTS...]}

Each ``accounts`` entry is an administrator of that emulated account; assume the team roles from
the team's account (``roles.<team>.account``) or approver account. A team whose roles are narrowed
to principals (``publisher_principals``/``approver_principals``) lists in ``people`` the role of that
account to assume first (``{"publisher": "arn:aws:iam::555555555555:role/recsys-data-scientist", ...}``,
made by :mod:`local.emulator.people`): admin -> person role -> team role.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import logging
import signal
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
import botocore.session
from botocore.credentials import RefreshableCredentials
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin

from local import stack_deploy
from local.emulator import organizations, service_roles
from local.emulator.people import create_person_roles
from local.emulator.server import (
    Credentials,
    EmulatorServer,
    PortInUse,
    check_port_free,
    create_account_admins,
    enable_auth,
)
from local.runner import SqsRunner, from_event_source_mapping
from stacks.config import ConfigError, ProjectConfig, load_config
from stacks.constructs.deployments_catalog import CATALOG_PATH
from stacks.constructs.names import (
    DEPLOYER_FUNCTION_NAME,
    LEDGER_TABLE_NAME,
    approver_role_name,
    publisher_role_name,
)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "config" / "example.yaml"
DEFAULT_PORT = 4566
STATE_FILE = "mlops-local.json"
# Endpoint transitions on the emulator's clock (seconds): short, yet long enough to watch. `speed`
# plays the DeploymentConfig waits faster: the example's 300 s canary wait takes 1.5 s, its 600 s bake 3 s.
TIMINGS = {"creating_seconds": 1.0, "updating_seconds": 1.5, "rolling_back_seconds": 1.5, "speed": 200.0}

Log = Callable[[str], None]


def accounts_of(config: ProjectConfig) -> list[str]:
    """Every account the flow acts in: registry, teams, approvers, serving accounts."""
    found = {config.registry.account}
    for team in config.teams:
        found.update((team.account, team.approver_account))
    found.update(d.account for d in config.deployments)
    return sorted(found)


class FunctionRole:
    """The execution role's credentials, as Lambda hands them to a function.

    Lambda assumes the role as ``lambda.amazonaws.com`` (the principal its trust policy names); here
    :mod:`local.emulator.service_roles` makes that session in the emulator after checking the trust
    policy, and renews it 15 minutes before it expires (sessions last an hour). A renewal also drops the
    deployer's cached clients, as a new sandbox would. Every call the handler makes, and the runner's
    ``ReceiveMessage``/``DeleteMessageBatch``, is authorized against the role's policies; calls in
    serving accounts go through the deploy-access role the deployer assumes with it.
    """

    def __init__(self, role_arn: str, region: str, function_name: str) -> None:
        self.role_arn = role_arn
        self.region = region
        self._credentials = service_roles.RenewingRoleCredentials(
            role_arn,
            region=region,
            session_name=function_name,
            on_renew=lambda _: _fresh_sandbox(),
        )

    def environment(self) -> dict[str, str]:
        """``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` of the current session."""
        return self._credentials.environment()

    def session(self) -> Any:
        """A boto3 session whose credentials follow the renewals (for the queue poller)."""
        core = botocore.session.get_session()
        core._credentials = RefreshableCredentials.create_from_metadata(  # noqa: SLF001
            metadata=self._credentials.botocore_metadata(),
            refresh_using=self._credentials.botocore_metadata,
            method="lambda-execution-role",
        )
        return boto3.session.Session(botocore_session=core, region_name=self.region)


def deployed_code_file(session: Any, endpoint_url: str, function_name: str, member: str) -> str:
    """A file of a deployed function's code package, read through public APIs: the object of the CDK
    asset bucket whose SHA-256 is the function's ``CodeSha256`` (moto's ``Code.Location`` URL is not
    served locally)."""
    lam = session.client("lambda", endpoint_url=endpoint_url)
    sha = lam.get_function_configuration(FunctionName=function_name)["CodeSha256"]
    s3 = session.client("s3", endpoint_url=endpoint_url)
    account = session.client("sts", endpoint_url=endpoint_url).get_caller_identity()["Account"]
    bucket = f"cdk-hnb659fds-assets-{account}-{session.region_name}"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith(".zip"):
                continue
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            if base64.b64encode(hashlib.sha256(body).digest()).decode() == sha:
                with zipfile.ZipFile(io.BytesIO(body)) as package:
                    return package.read(member).decode()
    raise RuntimeError(f"the code package of {function_name} is not in s3://{bucket}")


@dataclass
class LocalAws:
    """The emulator with the stacks of one config deployed and the deployer running."""

    config_path: Path = DEFAULT_CONFIG
    port: int = DEFAULT_PORT
    workdir: Path | None = None
    log: Log = print
    timings: dict[str, float] = field(default_factory=lambda: dict(TIMINGS))
    function_log_level: str | None = None  # LOG_LEVEL for the deployer (default: its own, INFO)

    server: EmulatorServer | None = None
    runner: SqsRunner | None = None
    function_role: FunctionRole | None = None
    credentials: dict[str, Credentials] = field(default_factory=dict)
    people: dict[str, dict[str, str]] = field(default_factory=dict)  # team -> duty -> person role ARN
    info: dict[str, Any] = field(default_factory=dict)
    _saved_auth: tuple[Any, int] | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def config(self) -> ProjectConfig:
        return load_config(self.config_path)

    @property
    def url(self) -> str:
        assert self.server is not None, "not started"
        return self.server.url

    def session(self, account: str) -> Any:
        """A boto3 session acting as the admin of an emulated account."""
        creds = self.credentials[account]
        return boto3.session.Session(
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            region_name=self.config.registry.region,
        )

    def start(self) -> LocalAws:
        config = self.config  # a config error stops here, before anything starts
        check_port_free("localhost", self.port)  # and a taken port, before the synth
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mlops-local-")
            self.workdir = Path(self._tmp.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines
        started = time.monotonic()
        # synth first: it needs no emulator, and a config error should fail before anything starts
        assembly = stack_deploy.synth(self.config_path.resolve(), self.workdir / "cdk.out", log=self.log)
        self._saved_auth = (settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count)
        self.server = EmulatorServer(
            port=self.port,
            creating_seconds=self.timings["creating_seconds"],
            updating_seconds=self.timings["updating_seconds"],
            rolling_back_seconds=self.timings["rolling_back_seconds"],
            speed=self.timings.get("speed", 1.0),
        ).start()
        try:
            region = config.registry.region
            self.credentials = create_account_admins(self.url, accounts_of(config), region)
            enable_auth(self.url)
            if config.registry.organization_id:  # every emulated account is a member
                organizations.set_organization(config.registry.organization_id, list(self.credentials))
            self.log(f"emulator: {self.url}, accounts {', '.join(self.credentials)}")
            self.people = create_person_roles(config, self.session, self.url)
            stack_deploy.deploy_all(
                self.url, self.credentials, assembly, registry_account=config.registry.account, log=self.log
            )
            self._start_deployer()
            self.log(f"local AWS ready in {time.monotonic() - started:.0f} s")
        except BaseException:
            self.stop()
            raise
        return self

    def _start_deployer(self) -> None:
        config = self.config
        region = config.registry.region
        admin = self.session(config.registry.account)
        lam = admin.client("lambda", endpoint_url=self.url)
        function = lam.get_function_configuration(FunctionName=DEPLOYER_FUNCTION_NAME)
        variables = dict((function.get("Environment") or {}).get("Variables") or {})
        deployments = variables.get("DEPLOYMENTS")
        if not deployments:
            deployments = deployed_code_file(
                admin, self.url, DEPLOYER_FUNCTION_NAME, variables["DEPLOYMENTS_FILE"]
            )
        environment = {
            **{k: v for k, v in variables.items() if k != "DEPLOYMENTS_FILE"},
            "DEPLOYMENTS": deployments,
            "AWS_ENDPOINT_URL": self.url,
            **({"LOG_LEVEL": self.function_log_level} if self.function_log_level else {}),
        }
        role = FunctionRole(function["Role"], region, DEPLOYER_FUNCTION_NAME)
        _fresh_sandbox()
        sys.path.insert(0, str(ROOT / "lambdas")) if str(ROOT / "lambdas") not in sys.path else None
        runner = from_event_source_mapping(
            lambda_client=lam,
            sqs_client=role.session().client("sqs", endpoint_url=self.url),
            function_name=DEPLOYER_FUNCTION_NAME,
            wait_time_seconds=1,
            credentials=role.environment,
        )
        runner.environment = environment
        self.function_role = role
        self.runner = runner.start()
        self.info = {
            "endpoint_url": self.url,
            "region": region,
            "registry_account": config.registry.account,
            "accounts": {a: c.as_dict() for a, c in self.credentials.items()},
            "roles": {
                team.name: {
                    "account": team.account,
                    "approver_account": team.approver_account,
                    "publisher": _role_arn(config.registry.account, publisher_role_name(team.name)),
                    "approver": _role_arn(config.registry.account, approver_role_name(team.name)),
                    # the roles people assume them through, when the team narrows them to principals
                    "people": dict(self.people.get(team.name, {})),
                }
                for team in config.teams
            },
            "ledger_table": variables.get("LEDGER_TABLE", LEDGER_TABLE_NAME),
            "topic_arn": variables.get("TOPIC_ARN"),
            "queue_url": runner.queue_url,
            "deployer_function": DEPLOYER_FUNCTION_NAME,
            "catalog_path": CATALOG_PATH,
            "deployments": json.loads(deployments),
        }

    def write_info(self, path: Path | None = None) -> Path:
        assert self.workdir is not None
        path = path or self.workdir / STATE_FILE
        path.write_text(json.dumps(self.info, indent=2) + "\n")
        return path

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            self.runner = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self._saved_auth is not None:
            settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = self._saved_auth
            self._saved_auth = None
        organizations.clear()
        _fresh_sandbox()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def export_lines(info: dict[str, Any]) -> list[str]:
    """Shell lines that point the CLI and the UI (and any AWS SDK) at the emulator as the registry
    account's administrator; the managed endpoints then come from the deployments catalog."""
    creds = info["accounts"][info["registry_account"]]
    return [
        "unset AWS_PROFILE AWS_SESSION_TOKEN",
        f"export AWS_ENDPOINT_URL={info['endpoint_url']}",
        f"export AWS_ACCESS_KEY_ID={creds['access_key_id']}",
        f"export AWS_SECRET_ACCESS_KEY={creds['secret_access_key']}",
        f"export AWS_REGION={info['region']}",
        f"export AWS_DEFAULT_REGION={info['region']}",
    ]


def _role_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def _fresh_sandbox() -> None:
    """Forget the deployer's cached service and clients, as a new Lambda sandbox would."""
    handler = sys.modules.get("deployer.handler")
    if handler is not None:
        handler._SERVICE = None  # type: ignore[attr-defined]
    aws = sys.modules.get("deployer.aws")
    if aws is not None:
        aws.reset()  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlops local up", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="config file (default: config/example.yaml)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"emulator port (default {DEFAULT_PORT}; 0 = any free port)",
    )
    parser.add_argument(
        "--state-file", type=Path, help=f"where to write the JSON file (default: <workdir>/{STATE_FILE})"
    )
    args = parser.parse_args(argv)

    stop = threading.Event()
    ready = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not ready.is_set():  # still starting (synth, deploy): stop now, LocalAws.start cleans up
            raise KeyboardInterrupt
        stop.set()

    log: Log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    local = LocalAws(config_path=args.config, port=args.port, log=log)
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        log(f"starting: {args.config} (Ctrl-C stops it)")
        local.start()
        path = local.write_info(args.state_file)
        info = local.info
        print(f"endpoint: {info['endpoint_url']}  (region {info['region']})")
        print(f"accounts: {', '.join(info['accounts'])}  (registry {info['registry_account']})")
        for team, roles in info["roles"].items():
            for duty, label, account in (
                ("publisher", "publisher", roles["account"]),
                ("approver", "approver ", roles["approver_account"]),
            ):
                through = roles["people"].get(duty)
                source = f"through {through}" if through else f"from {account}"
                print(f"team {team}: {label} {roles[duty]} ({source})")
        print(f"ledger table: {info['ledger_table']}")
        print("point `mlops` and `mlops ui` at the emulator (registry account administrator):")
        for line in export_lines(info):
            print(f"  {line}")
        print("state file (credentials, roles, deployments):")
        print(path)
        print("ready", flush=True)
        ready.set()
        stop.wait()
        print("stopping", file=sys.stderr, flush=True)
    except (stack_deploy.DeployError, PortInUse) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:  # one message, as `cdk synth` gives it
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: stopped before the emulator was ready", file=sys.stderr)
        return 130
    finally:
        local.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
