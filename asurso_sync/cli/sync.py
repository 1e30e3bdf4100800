"""The `sync` command."""
