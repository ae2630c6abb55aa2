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


def test_asyncapi_tells_subscribers_to_expect_repeats_and_drop_them_by_event_id() -> None:
    doc = generate.asyncapi()
    assert "at least once" in doc["info"]["description"]
    assert "De-duplicate by the event id" in doc["info"]["description"]
    messages = doc["components"]["messages"]
    for (_, _), model in EVENT_MODELS.items():
        headers = messages[model.__name__]["headers"]
        assert "ce-id" in headers["required"], model.__name__
        assert "de-duplicate by this id" in headers["properties"]["ce-id"]["description"]
