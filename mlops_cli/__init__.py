"""The `mlops` console script: discover, compare, approve, promote, roll back and audit models.

See mlops_cli/README.md for commands, flags and exit codes.
"""
