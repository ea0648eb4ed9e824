"""The team pipeline: XGBoost training, held-out evaluation, conditional registration.

- :mod:`.definition` builds the definition with the SageMaker SDK (build time only).
- :mod:`.template` loads and fills the generated, team-independent JSON (no SDK; used by the CDK app).
- ``evaluate.py`` is the processing script that runs inside the XGBoost container.
"""
