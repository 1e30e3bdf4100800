"""The `schedule` command."""
