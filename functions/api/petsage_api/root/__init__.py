"""The API root: the greeting at `/`."""
