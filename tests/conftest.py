"""Test-wide safety: no test may reach real AWS, whatever the developer's environment holds."""

import os

for key, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}.items():
    os.environ[key] = value
os.environ.pop("AWS_PROFILE", None)

# `make test` (and so CI) replays the same examples every run, so a landing never depends on luck;
# a plain `pytest` explores new random examples.
from hypothesis import settings  # noqa: E402

settings.register_profile("repeatable", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
