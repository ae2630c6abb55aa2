"""The checked-in JSON Schemas and AsyncAPI document match the models."""

from contracts import generate, subjects
from contracts.catalog import EVENT_MODELS


def test_schemas_are_up_to_date() -> None:
    assert generate.main(["--check"]) == 0, "run: python -m contracts.generate"


def test_every_event_has_a_model() -> None:
    declared = {(svc, name) for svc, names in subjects.EVENTS.items() for name in names}
    assert declared == set(EVENT_MODELS)


def test_asyncapi_lists_the_public_result_stream() -> None:
    doc = generate.asyncapi()
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in doc["channels"].values()}
    assert "spotcheck.v1.publisher.result.published.{region}.{dept}" in addresses
