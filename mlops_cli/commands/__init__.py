"""One module per command family; each `run_*` takes (Context, Namespace) and returns a Result."""
