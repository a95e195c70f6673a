"""The response models are the contract the original FastAPI sketch fixed."""

from __future__ import annotations

from petsage_health.models import ErrorResponse, HealthCheckResponse, WelcomeResponse


def test_health_check_defaults_are_the_liveness_payload() -> None:
    assert HealthCheckResponse().model_dump() == {"status": "ok", "message": "PetSage API is purring!"}


def test_health_check_serialises_compactly_in_field_order() -> None:
    assert HealthCheckResponse().model_dump_json() == '{"status":"ok","message":"PetSage API is purring!"}'


def test_health_check_fields_carry_the_contract_descriptions_and_examples() -> None:
    schema = HealthCheckResponse.model_json_schema()
    assert schema["properties"]["status"]["description"] == "The operational status of the system."
    assert schema["properties"]["status"]["examples"] == ["ok"]
    assert schema["properties"]["message"]["description"] == "A friendly confirmation message from the PetSage system."
    assert schema["properties"]["message"]["examples"] == ["PetSage API is purring!"]
    assert schema["description"].startswith("Response model for the system health check endpoint.")


def test_health_check_reads_from_attributes_like_the_sketch_config() -> None:
    class Status:
        status = "ok"
        message = "from an object"

    assert HealthCheckResponse.model_validate(Status()).message == "from an object"


def test_welcome_points_at_the_docs() -> None:
    assert WelcomeResponse().model_dump() == {"message": "Welcome to the PetSage API! Find our docs at /docs"}


def test_error_body_uses_the_camel_case_status_code() -> None:
    assert ErrorResponse(status_code=404, message="Not Found").model_dump(by_alias=True) == {
        "statusCode": 404,
        "message": "Not Found",
    }
