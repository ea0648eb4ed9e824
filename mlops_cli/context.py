"""Per-invocation context: parsed arguments, lazily created AWS clients, output streams."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import IO, Any, TypeVar

from mlops_cli.errors import EXIT_OK, CliError

T = TypeVar("T")
R = TypeVar("R")
MAX_WORKERS = 8


@dataclass
class Result:
    """What a command produced: `data` for --json, `text` for humans, and the exit code."""

    data: Any
    text: str
    exit_code: int = EXIT_OK


class Context:
    def __init__(
        self,
        args: argparse.Namespace,
        *,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.args = args
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    @cached_property
    def aws(self) -> Any:
        from mlops_cli.aws import Aws

        return Aws(profile=self.args.profile, region=self.args.region, role_arn=self.args.role_arn)

    @cached_property
    def registry(self) -> Any:
        from mlops_cli.registry import Registry

        return Registry(self.aws.client("sagemaker"))

    @cached_property
    def ledger(self) -> Any:
        from mlops_cli.ledger import Ledger

        return Ledger(self.aws.client("dynamodb"), self.args.ledger_table)

    @cached_property
    def s3(self) -> Any:
        return self.aws.client("s3")

    @cached_property
    def _catalog(self) -> Any:
        from mlops_cli.deployments import load_catalog

        return load_catalog(self.aws.client("ssm"), self.args.catalog_path)

    def catalog(self) -> Any:
        """The deployments catalog (managed endpoints, registry account and region); errors propagate."""
        return self._catalog

    @property
    def _deployments(self) -> list[Any]:
        return list(self._catalog.deployments)

    def deployments(self) -> list[Any]:
        """Managed endpoints; errors (no catalog, no access) propagate."""
        return list(self._deployments)

    def deployments_or_none(self) -> list[Any] | None:
        """Managed endpoints, or None with a warning when the catalog cannot be read."""
        try:
            return self.deployments()
        except CliError as exc:
            self.warn(f"endpoints unknown: {exc.message}")
            return None

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=self.stderr)

    def parallel(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Map `fn` over `items` with a small thread pool (boto3 clients are thread-safe); keeps order."""
        items = list(items)
        if len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
            return list(pool.map(fn, items))
