"""The `aicc` command line."""
