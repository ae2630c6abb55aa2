"""Write JSON Schema for every contract model and one AsyncAPI 3 document.

`python -m contracts.generate` writes `contracts/schemas/`; `--check` exits 1 when the
checked-in files differ from what the models produce (a test runs that).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import contracts
from contracts import subjects as s
from contracts.base import Contract

SCHEMAS_DIR = Path(__file__).parent / "schemas"
SKIP_MODULES = {"generate", "catalog", "events", "base", "subjects"}


def contract_models() -> dict[str, type[BaseModel]]:
    """Every `Contract` subclass defined in a module of the package, by `<module>.<Name>`."""
    found: dict[str, type[BaseModel]] = {}
    for info in pkgutil.iter_modules(contracts.__path__):
        if info.name in SKIP_MODULES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"contracts.{info.name}")
        for name, obj in vars(module).items():
            if (
                isinstance(obj, type)
                and issubclass(obj, Contract)
                and obj is not Contract
                and obj.__module__ == module.__name__
            ):
                found[f"{info.name}.{name}"] = obj
    return dict(sorted(found.items()))


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


# What every subscriber must know, in the document itself (docs/subscribing.md says the same).
DELIVERY = (
    "Delivery is at least once: a consumer may receive the same event more than once (a "
    "redelivery after a missed ack, a relay's retry, an operator's replay). De-duplicate by the "
    "event id — the ce-id header, equal to Nats-Msg-Id — which is the same for every copy of "
    "one fact: keep what you stored the first time."
)

# The envelope of every event (services/kit/envelope.py writes it).
EVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "Nats-Msg-Id"],
    "properties": {
        "ce-specversion": {"type": "string", "const": "1.0"},
        "ce-id": {
            "type": "string",
            "description": "The event id: the same for every copy of one fact. Delivery is at "
            "least once; de-duplicate by this id.",
        },
        "ce-source": {"type": "string", "description": "The service that published it."},
        "ce-type": {"type": "string", "description": "The subject without its qualifiers."},
        "ce-time": {"type": "string", "format": "date-time"},
        "content-type": {"type": "string", "const": "application/json"},
        "Nats-Msg-Id": {
            "type": "string",
            "description": "Equal to ce-id; JetStream drops a repeat within its duplicate "
            "window, a subscriber must still expect one.",
        },
    },
}


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every event, external subject and rpc verb."""
    from contracts.catalog import EVENT_MODELS, EXTERNAL_MODELS, RPC_MODELS

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}

    def add(
        key: str, address: str, model: type[BaseModel], action: str, doc: str, event: bool = False
    ) -> None:
        message = messages.setdefault(
            model.__name__,
            {
                "name": model.__name__,
                "contentType": "application/json",
                "payload": {"$ref": f"./{model.__module__.split('.')[-1]}.{model.__name__}.json"},
                "summary": (model.__doc__ or "").strip().splitlines()[0],
            },
        )
        if event:
            message["headers"] = EVENT_HEADERS
        channels[key] = {
            "address": address,
            "description": doc,
            "messages": {model.__name__: {"$ref": f"#/components/messages/{model.__name__}"}},
        }
        operations[key] = {"action": action, "channel": {"$ref": f"#/channels/{key}"}}

    for (service, name), model in sorted(EVENT_MODELS.items()):
        key = f"{service}.{name}"
        address = f"{s.PREFIX}.{service}.{name}"
        doc = f"Event of the {service} service, stream {s.stream_name(service)}."
        if (service, name) == ("publisher", "result.published"):
            address += ".{region}.{dept}"
            doc += " Other agencies read this subject (account AGENCIES)."
        add(key, address, model, "send", doc, event=True)
    for subject, model in sorted(EXTERNAL_MODELS.items()):
        add(subject, subject, model, "receive", "Published by the credit-risk system.")
    for (service, verb), (req, rep) in sorted(RPC_MODELS.items()):
        key = f"{service}.rpc.{verb}"
        add(key, s.rpc(service, verb), req, "receive", f"Request/reply; answers {rep.__name__}.")
        # (a reply that is also an event, like FreezeReply, keeps its event headers)
        messages.setdefault(
            rep.__name__,
            {
                "name": rep.__name__,
                "contentType": "application/json",
                "payload": {"$ref": f"./{rep.__module__.split('.')[-1]}.{rep.__name__}.json"},
            },
        )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "spotcheck events",
            "version": s.VERSION,
            "description": "双随机、一公开 events over NATS JetStream. CloudEvents 1.0 attributes "
            "travel as ce-* headers; Nats-Msg-Id equals ce-id. " + DELIVERY,
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> dict[str, str]:
    """File name -> content of everything under `contracts/schemas/`."""
    files = {
        f"{key}.json": _dump(model.model_json_schema()) for key, model in contract_models().items()
    }
    files["asyncapi.json"] = _dump(asyncapi())
    return files


def main(argv: list[str]) -> int:
    """Write (or with `--check`, compare) the generated files."""
    files = render()
    if "--check" in argv:
        stale = [
            name
            for name, text in files.items()
            if not (SCHEMAS_DIR / name).exists()
            or (SCHEMAS_DIR / name).read_text(encoding="utf-8") != text
        ]
        extra = [p.name for p in SCHEMAS_DIR.glob("*.json") if p.name not in files]
        if stale or extra:
            print(f"stale schemas: {sorted(stale + extra)}; run: python -m contracts.generate")
            return 1
        print(f"{len(files)} schema files up to date")
        return 0
    SCHEMAS_DIR.mkdir(exist_ok=True)
    for p in SCHEMAS_DIR.glob("*.json"):
        if p.name not in files:
            p.unlink()
    for name, text in files.items():
        (SCHEMAS_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {SCHEMAS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
