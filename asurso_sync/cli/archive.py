"""The `archive` command."""
