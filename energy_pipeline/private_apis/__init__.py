"""Every use of a library's private API, one module per library, so that an upgrade has one place to check.
Each library named here has an upper bound in `pyproject.toml` for that reason."""
