"""Managed endpoints, read from the deployer function's configuration (or a local file).

The JSON shape and where the deployer keeps it (`DEPLOYMENTS` inline, or `DEPLOYMENTS_FILE` in its
code package) are defined in docs/contracts.md ("Deployer Lambda environment").
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from mlops_cli.errors import (
    EXIT_AWS_ERROR,
    EXIT_NOT_FOUND,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
    translated,
)
from mlops_cli.ledger import endpoint_id

DEFAULT_DEPLOYER_FUNCTION = "mlops-deployer"
APPROVED = "Approved"


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    group: str
    account: str
    region: str
    follows: str = APPROVED
    group_arn: str | None = None
    instance_type: str | None = None
    instance_count: int | None = None
    rollout: dict[str, Any] = field(default_factory=dict)
    alarms: tuple[str, ...] = ()
    execution_role_arn: str | None = None
    deploy_role_arn: str | None = None

    @property
    def endpoint_id(self) -> str:
        return endpoint_id(self.account, self.region, self.endpoint)

    def rollout_text(self) -> str:
        strategy = str(self.rollout.get("strategy", "all_at_once"))
        if strategy == "all_at_once":
            return "all at once"
        parts = [f"{strategy} {self.rollout.get('step_percent', '?')}%"]
        if "wait_seconds" in self.rollout:
            parts.append(f"wait {self.rollout['wait_seconds']}s")
        if "bake_seconds" in self.rollout:
            parts.append(f"bake {self.rollout['bake_seconds']}s")
        return ", ".join(parts)


def parse_deployments(text: str | None, *, source: str = "DEPLOYMENTS") -> list[Deployment]:
    if not text:
        return []
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{source} is not valid JSON: {exc}", EXIT_AWS_ERROR) from exc
    if not isinstance(raw, list):
        raise CliError(f"{source} must be a JSON list, got {type(raw).__name__}", EXIT_AWS_ERROR)
    result = []
    for index, item in enumerate(raw):
        try:
            result.append(
                Deployment(
                    endpoint=str(item["endpoint"]),
                    group=str(item["group"]),
                    account=str(item["account"]),
                    region=str(item["region"]),
                    follows=str(item.get("follows") or APPROVED),
                    group_arn=item.get("group_arn"),
                    instance_type=item.get("instance_type"),
                    instance_count=item.get("instance_count"),
                    rollout=dict(item.get("rollout") or {}),
                    alarms=tuple(item.get("alarms") or ()),
                    execution_role_arn=item.get("execution_role_arn"),
                    deploy_role_arn=item.get("deploy_role_arn"),
                )
            )
        except (KeyError, TypeError) as exc:
            raise CliError(f"{source}[{index}] is missing a required key: {exc}", EXIT_AWS_ERROR) from exc
    return result


def download(url: str) -> bytes:
    """GET a presigned URL (the deployer's code package). Replaced in tests."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:  # a presigned https URL from Lambda
        return bytes(response.read())


def load_deployments(lambda_client: Any, function_name: str) -> list[Deployment]:
    """From the deployer's configuration (docs/contracts.md): `DEPLOYMENTS` inline (one
    GetFunctionConfiguration), else `DEPLOYMENTS_FILE` inside its code package (plus GetFunction and a
    download of the package: the stack ships the file with the code because of Lambda's 4 KB limit)."""
    try:
        with translated(
            needs=f"lambda:GetFunctionConfiguration on function {function_name} in the registry account",
            what=f"deployer function {function_name!r}",
        ):
            config = lambda_client.get_function_configuration(FunctionName=function_name)
    except CliError as exc:
        if exc.exit_code == EXIT_NOT_FOUND:
            exc.hint = (
                "deploy the registry stack, or pass --deployer-function / --region for another deployer"
            )
        raise
    variables = (config.get("Environment") or {}).get("Variables") or {}
    if variables.get("DEPLOYMENTS"):
        return parse_deployments(variables["DEPLOYMENTS"], source=f"{function_name} DEPLOYMENTS")
    file_name = variables.get("DEPLOYMENTS_FILE")
    if not file_name:
        raise CliError(
            f"deployer function {function_name} sets neither DEPLOYMENTS nor DEPLOYMENTS_FILE", EXIT_AWS_ERROR
        )
    return parse_deployments(
        _read_from_code(lambda_client, function_name, file_name), source=f"{function_name} {file_name}"
    )


def _read_from_code(lambda_client: Any, function_name: str, file_name: str) -> str:
    import io
    import posixpath
    import zipfile

    fallback = "pass --deployments-file PATH (the deployments.json of the deployer's asset under cdk.out)"
    member = posixpath.normpath(file_name)
    if member.startswith(("/", "..")):
        raise CliError(
            f"DEPLOYMENTS_FILE={file_name!r} is not inside the code package", EXIT_AWS_ERROR, hint=fallback
        )
    with translated(
        needs=f"lambda:GetFunction on function {function_name} (DEPLOYMENTS_FILE is in its code)"
    ):
        location = lambda_client.get_function(FunctionName=function_name)["Code"]["Location"]
    try:
        package = download(location)
    except OSError as exc:
        raise CliError(
            f"cannot download the code package of {function_name}: {exc}", EXIT_UNREACHABLE, hint=fallback
        ) from exc
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            return archive.read(member).decode("utf-8")
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError) as exc:
        raise CliError(
            f"cannot read {file_name} from the code package of {function_name}: {exc}",
            EXIT_AWS_ERROR,
            hint=fallback,
        ) from exc


def read_deployments_file(path: str) -> list[Deployment]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise CliError(f"cannot read --deployments-file {path}: {exc}", EXIT_USAGE) from exc
    deployments = parse_deployments(text, source=path)
    return deployments


def resolve_endpoint(deployments: list[Deployment], text: str) -> Deployment:
    """Find a deployment by endpoint name or by `<account>/<region>/<name>` id."""
    if text.count("/") == 2:
        matches = [d for d in deployments if d.endpoint_id == text]
    else:
        matches = [d for d in deployments if d.endpoint == text]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        ids = ", ".join(d.endpoint_id for d in matches)
        raise CliError(
            f"endpoint name {text!r} is ambiguous", EXIT_USAGE, hint=f"use one of the full ids: {ids}"
        )
    names = [d.endpoint for d in deployments] + [d.endpoint_id for d in deployments]
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.5)
    hint = (
        f"did you mean: {', '.join(close)}?"
        if close
        else (
            "managed endpoints: " + ", ".join(sorted(d.endpoint for d in deployments))
            if deployments
            else None
        )
    )
    raise CliError(f"endpoint {text!r} is not managed by the deployer", EXIT_NOT_FOUND, hint=hint)
