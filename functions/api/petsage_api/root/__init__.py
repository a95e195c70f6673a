"""The API root: a greeting that points at the documentation."""
