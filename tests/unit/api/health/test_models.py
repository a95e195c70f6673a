"""The health feature's response models (petsage_api.health.models): the liveness contract the original
FastAPI sketch fixed, with its descriptions and examples."""

from __future__ import annotations

from petsage_api.health.models import HealthCheckResponse
from tests.contract import LIVENESS, LIVENESS_BODY


def test_health_check_defaults_are_the_liveness_payload() -> None:
    assert HealthCheckResponse().model_dump() == LIVENESS


def test_health_check_serialises_compactly_in_field_order() -> None:
    assert HealthCheckResponse().model_dump_json() == LIVENESS_BODY


def test_health_check_fields_carry_the_contract_descriptions_and_examples() -> None:
    schema = HealthCheckResponse.model_json_schema()
    assert schema["properties"]["status"]["description"] == "The operational status of the system."
    assert schema["properties"]["status"]["examples"] == [LIVENESS["status"]]
    assert schema["properties"]["message"]["description"] == "A friendly confirmation message from the PetSage system."
    assert schema["properties"]["message"]["examples"] == [LIVENESS["message"]]
    assert schema["description"].startswith("Response model for the system health check endpoint.")


def test_health_check_reads_from_attributes_like_the_sketch_config() -> None:
    class Status:
        status = "ok"
        message = "from an object"

    assert HealthCheckResponse.model_validate(Status()).message == "from an object"
