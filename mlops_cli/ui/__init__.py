"""`mlops ui`: the registry and its deployments in a browser (read-only)."""
