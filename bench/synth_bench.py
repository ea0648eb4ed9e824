"""Synth benchmarks: app.py with the example config, 300 teams and 1,000 teams (cdk-nag on, as `cdk synth`
runs it), the scale ones as ratios to the example in the same run. Every measurement is a fresh
interpreter (import + build + synth).

Usage: python bench/synth_bench.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]

ONE_RESOURCE = """
import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
app = cdk.App(builtin_cloud_formation_validation={validation})
stack = cdk.Stack(app, "One", env=cdk.Environment(account="111111111111", region="eu-west-1"))
sqs.Queue(stack, "Queue")
app.synth()
"""

EXAMPLE = ROOT / "config" / "example.yaml"


def _median(code: str, runs: int) -> float:
    def once() -> float:
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
        return time.perf_counter() - started

    return statistics.median(once() for _ in range(runs))


def _app_seconds(config: Path, workdir: Path) -> float:
    """`python app.py` as `cdk synth` runs it (cdk-nag on), with `config`; placements go to `workdir`."""
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_CONTEXT_JSON": json.dumps(
            {"config": str(config), "placements": str(workdir / f"{config.stem}.placements.json")}
        ),
        "CDK_OUTDIR": str(workdir / f"out-{config.stem}"),
    }
    env.pop("MLOPS_SKIP_NAG", None)
    started = time.perf_counter()
    subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _scale_file(workdir: Path, teams: int, deployments: int, team_stacks: int) -> Path:
    if str(ROOT) not in sys.path[:1]:  # run as a script: the project's `tests` package, not another one
        sys.path.insert(0, str(ROOT))
    from tests.fixtures.scale import scale_config

    path = workdir / f"teams-{teams}.yaml"
    raw = scale_config(teams=teams, team_stacks=team_stacks, deployments=deployments)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def measure(runs: int) -> dict[str, Any]:
    baseline = _median(ONE_RESOURCE.format(validation=False), runs)
    results: dict[str, Any] = {"one-resource app seconds": round(baseline, 2)}
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
        workdir = Path(tmp)
        example = statistics.median(_app_seconds(EXAMPLE, workdir) for _ in range(runs))
        results["example config"] = {"seconds": round(example, 2), "ratio to example": 1.0}
        for teams, deployments, team_stacks in ((300, 60, 12), (1000, 200, 40)):
            seconds = _app_seconds(_scale_file(workdir, teams, deployments, team_stacks), workdir)
            results[f"{teams} teams / {3 * teams} groups / {deployments} deployments"] = {
                "seconds": round(seconds, 2),
                "ratio to example": round(seconds / example, 2),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("Synth time of app.py as `cdk synth` runs it (fresh interpreter, cdk-nag on); goal: 1,000 teams")
    print("within 4x the example")
    print(f"  one-resource CDK app: {results['one-resource app seconds']:.2f} s")
    for name, value in results.items():
        if isinstance(value, dict):
            print(f"  {name}: {value['seconds']:.2f} s = {value['ratio to example']:.2f}x the example")


if __name__ == "__main__":
    main()
