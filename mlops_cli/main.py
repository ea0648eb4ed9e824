"""`mlops`: discover, compare, approve, promote, roll back and audit models of the central registry.

Exit codes (scripts can rely on them; also in mlops_cli/README.md):
  0  ok
  1  usage or validation error, refused or aborted confirmation
  2  not found (group, version, managed endpoint, ledger entry, deployments catalog, ledger table)
  3  permission denied (the message names the role that would be needed) or no/invalid credentials
  4  AWS endpoint unreachable (with AWS_ENDPOINT_URL set: the local emulator is not running)
  5  `mlops status`: at least one endpoint is stuck or failed
  6  any other AWS API error
  7  `mlops watch`: the rollout was rolled back (5: the endpoint Failed or the watch timed out)
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn

from mlops_cli.errors import (
    EXIT_AWS_ERROR,
    EXIT_DENIED,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    REGION_HINT,
    CliError,
    from_client_error,
    unreachable,
)

APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")
# SageMaker accepts any 1-63 character StageStatus; these are the statuses of the Model Registry's
# predefined stage constructs (https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-staging-construct-set-up.html).
# The deployer follows a stage only when its status is Approved, so a typo would never deploy: refuse it here.
STAGE_STATUSES = ("Approved", "PendingApproval", "InProgress", "OnHold", "Rejected", "Retired")
# arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html)
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}")


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage; we reserve 2 for "not found" and use 1."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options accepted before and after the command (`mlops --json groups` == `mlops groups --json`)."""
    default: Any = (lambda value: value) if top else (lambda value: argparse.SUPPRESS)
    group = parser.add_argument_group("common options")
    group.add_argument("--json", action="store_true", default=default(False), help="machine-readable output")
    group.add_argument("--profile", default=default(None), help="AWS profile (default: credential chain)")
    group.add_argument("--region", default=default(None), help="AWS region of the registry account")
    group.add_argument(
        "--role-arn",
        type=_role_arn,
        default=default(None),
        help="assume this role first (e.g. a team role: arn:aws:iam::ACCOUNT:role/mlops-TEAM-approver)",
    )
    group.add_argument(
        "--catalog-path",
        default=default("/mlops/deployments"),
        metavar="PATH",
        help="SSM parameter path of the deployments catalog in the registry account, which lists the "
        "managed endpoints (default: /mlops/deployments)",
    )
    group.add_argument(
        "--ledger-table",
        default=default("mlops-deployment-ledger"),
        help="deployment ledger table (default: mlops-deployment-ledger)",
    )


def _version(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid version {text!r}: expected a positive integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid version {text!r}: expected a positive integer")
    return value


def _role_arn(text: str) -> str:
    if not _ROLE_ARN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"invalid role ARN {text!r}: expected arn:aws:iam::<12-digit account>:role/<name>"
        )
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: expected a positive integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: expected a positive integer")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: expected 0 or more") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: expected 0 or more")
    return value


def _stage_status(text: str) -> str:
    for status in STAGE_STATUSES:
        if status.lower() == text.lower():
            return status
    raise argparse.ArgumentTypeError(
        f"invalid stage status {text!r}: choose from {', '.join(STAGE_STATUSES)}"
    )


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlops-registry-stack")
    except PackageNotFoundError:  # running from a source tree that was not pip-installed
        return "unknown"


def _status(text: str) -> str:
    for status in APPROVAL_STATUSES:
        if status.lower() == text.lower():
            return status
    raise argparse.ArgumentTypeError(f"invalid status {text!r}: choose from {', '.join(APPROVAL_STATUSES)}")


def _lazy(module: str, function: str) -> Callable[..., Any]:
    def run(ctx: Any, args: argparse.Namespace) -> Any:
        import importlib

        return getattr(importlib.import_module(f"mlops_cli.cmd_{module}"), function)(ctx, args)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mlops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(parser, top=True)
    parser.add_argument("--version", action="version", version=f"mlops {_package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def add(name: str, help_text: str, run: Callable[..., Any]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _common(sub, top=False)
        sub.set_defaults(run=run)
        return sub

    sub = add(
        "groups",
        "list model package groups: team, latest and approved version, endpoints",
        _lazy("catalog", "run_groups"),
    )
    sub.add_argument("--team", help="only groups tagged mlops:team=TEAM")
    sub.add_argument("--search", help="case-insensitive text in the name, description or team")

    sub = add(
        "versions",
        "list the versions of a group with status, stage and key metrics",
        _lazy("catalog", "run_versions"),
    )
    sub.add_argument("group")
    sub.add_argument("--status", type=_status, help="Approved, Rejected or PendingManualApproval")
    sub.add_argument(
        "--no-metrics",
        action="store_true",
        help="list only (no DescribeModelPackage or S3 read per version: no metrics, no created-by)",
    )

    sub = add(
        "show", "full detail of one version, including where it was deployed", _lazy("catalog", "run_show")
    )
    sub.add_argument("group")
    sub.add_argument("version", type=_version)

    sub = add("compare", "metrics of two versions side by side", _lazy("catalog", "run_compare"))
    sub.add_argument("group")
    sub.add_argument("v1", type=_version)
    sub.add_argument("v2", type=_version)

    for name, verb in (("approve", "run_approve"), ("reject", "run_reject")):
        sub = add(
            name,
            f"{name} a version (the reason is stored as the approval description)",
            _lazy("approval", verb),
        )
        sub.add_argument("group")
        sub.add_argument("version", type=_version)
        sub.add_argument("--reason", required=True, help="why (stored as ApprovalDescription)")

    sub = add("promote", "set the lifecycle stage of a version", _lazy("approval", "run_promote"))
    sub.add_argument("group")
    sub.add_argument("version", type=_version)
    sub.add_argument("--stage", required=True, help="lifecycle stage, e.g. Staging or Production")
    sub.add_argument(
        "--stage-status",
        type=_stage_status,
        default="Approved",
        help=f"stage status, one of {', '.join(STAGE_STATUSES)} (default: Approved; the deployer "
        "follows a stage only when its status is Approved)",
    )
    sub.add_argument("--reason", help="stored as the stage description")

    sub = add(
        "rollback",
        "roll an endpoint back through the registry (prints what the deployer will do)",
        _lazy("rollback", "run_rollback"),
    )
    sub.add_argument("endpoint", help="endpoint name or <account>/<region>/<name>")
    sub.add_argument("--to", type=_version, metavar="VERSION", help="an older version to go back to")
    sub.add_argument("--reason", required=True, help="why (stored in the registry on every changed version)")
    sub.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    sub.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")

    sub = add(
        "retry",
        "deploy once more a version the deployer holds back after a failure or an alarm rollback",
        _lazy("retry", "run_retry"),
    )
    sub.add_argument("endpoint", help="endpoint name or <account>/<region>/<name>")
    sub.add_argument(
        "version",
        nargs="?",
        type=_version,
        help="the held-back version (default: the one the deployer would deploy; any other is refused)",
    )
    sub.add_argument("--reason", required=True, help="why (stored in the ledger's requested entry)")

    sub = add(
        "status",
        "live vs desired version of managed endpoints; flags stuck ones (exit 5)",
        _lazy("status", "run_status"),
    )
    sub.add_argument("endpoint", nargs="?", help="endpoint name or <account>/<region>/<name> (default: all)")
    sub.add_argument(
        "--stuck-minutes",
        type=_non_negative,
        default=30,
        help="no ledger progress for this long while live != desired means stuck (default: 30)",
    )

    sub = add(
        "watch",
        "follow a rollout live: phase, traffic share per version, alarms, progress; exit with its outcome",
        _lazy("watch", "run_watch"),
    )
    sub.add_argument("endpoint", help="endpoint name or <account>/<region>/<name>")
    sub.add_argument("--interval", type=float, default=1.0, help="seconds between polls (default: 1)")
    sub.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds (exit 5)")
    sub.add_argument("--wait", action="store_true", help="if no rollout runs yet, wait for the next one")

    sub = add(
        "history",
        "deployment timeline of an endpoint, or the version it served at a time",
        _lazy("history", "run_history"),
    )
    sub.add_argument("endpoint", help="endpoint name or <account>/<region>/<name>")
    sub.add_argument("--at", metavar="TIME", help="ISO-8601 time, e.g. 2026-11-20T10:00:00Z (naive = UTC)")
    sub.add_argument("--limit", type=_positive, help="only the newest N entries")

    sub = add(
        "ui",
        "read-only web view of the registry, versions, endpoints and the ledger on localhost",
        _lazy("ui", "run_ui"),
    )
    sub.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0 = any free)")
    sub.add_argument("--open", action="store_true", help="open the page in the default browser")

    local = commands.add_parser("local", help="the local AWS emulator")
    local_commands = local.add_subparsers(dest="local_command", metavar="COMMAND", parser_class=_Parser)
    local_commands.required = True
    sub = local_commands.add_parser(
        "up", help="start the local emulator", description="start the local emulator"
    )
    _common(sub, top=False)
    sub.set_defaults(run=_lazy("local", "run_local_up"))
    sub.add_argument("--config", help="config file (default: the emulator's)")
    sub.add_argument("--port", type=int, help="port of the emulator")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (1)
        return int(exc.code or 0)
    from mlops_cli.context import Context

    ctx = Context(args, stdin=stdin, stdout=out, stderr=err)
    try:
        result = _run(ctx, args)
    except CliError as exc:
        if exc.exit_code == EXIT_NOT_FOUND and not exc.located and args.command != "local":
            _add_location(ctx, exc)
        print(exc.render(), file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return 130
    if result.data is not None or result.text:
        if args.json:
            from mlops_cli.formatting import to_json

            print(to_json(result.data), file=out)
        else:
            print(result.text, file=out)
    return result.exit_code


def _add_location(ctx: Any, exc: CliError) -> None:
    """Something was not found: in the wrong account or region everything is; say where we are."""
    from mlops_cli.whereami import locate

    try:
        where = locate(ctx)
    except Exception:  # noqa: BLE001 - best effort; the original error is what matters
        return
    if where is not None:
        exc.hint = f"{exc.hint}; {where.hint()}" if exc.hint else where.hint()


def _run(ctx: Any, args: argparse.Namespace) -> Any:
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )

    try:
        return args.run(ctx, args)
    except ClientError as exc:
        raise from_client_error(exc) from exc
    except (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError) as exc:
        raise unreachable(exc) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise CliError(
            f"no AWS credentials: {exc}", EXIT_DENIED, hint="use --profile, or set AWS credentials"
        ) from exc
    except ProfileNotFound as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    except NoRegionError as exc:
        raise CliError("no AWS region configured", EXIT_USAGE, hint=REGION_HINT) from exc
    except CliError:
        raise
    except Exception as exc:  # botocore errors not listed above
        from botocore.exceptions import BotoCoreError

        if isinstance(exc, BotoCoreError):
            raise CliError(f"AWS SDK error: {exc}", EXIT_AWS_ERROR) from exc
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
