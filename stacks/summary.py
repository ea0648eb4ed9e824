"""Prints what `cdk deploy --all` would create in which account, from a synthesized config.

Usage: python -m stacks.summary --config config/example.yaml
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import aws_cdk as cdk

from stacks.assembly import build
from stacks.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/example.yaml")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"{args.config}: {err}", file=sys.stderr)
        return 1
    app = cdk.App(builtin_cloud_formation_validation=False)
    build(app, config)
    cloud_assembly = app.synth()
    print(
        f"Config {args.config}: {len(config.teams)} team(s), "
        f"{sum(len(t.model_groups) for t in config.teams)} model group(s), {len(config.deployments)} deployment(s)"
    )
    for artifact in sorted(cloud_assembly.stacks, key=lambda a: (a.environment.account, a.stack_name)):
        template = artifact.template
        kinds = Counter(r["Type"] for r in template["Resources"].values())
        env = artifact.environment
        print(f"\n{artifact.stack_name}  ->  account {env.account}, region {env.region}")
        for kind, count in sorted(kinds.items()):
            print(f"  {count:4d}  {kind}")
        for name, output in sorted(template.get("Outputs", {}).items()):
            if description := output.get("Description"):
                print(f"        output {name}: {description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
