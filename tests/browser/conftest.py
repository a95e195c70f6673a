"""The browser test opens the same local API the integration tests start."""

from tests.integration.conftest import local_api

__all__ = ["local_api"]
