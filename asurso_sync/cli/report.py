"""The `report` command."""
