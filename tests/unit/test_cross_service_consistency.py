"""What one service's data promises another: checked on the shipped files."""

import csv
import io
from pathlib import Path

import yaml

from services.registry.domain import synthetic
from services.registry.domain.vocabulary import DEFAULT_EXPERTISE, KEY_SUPERVISION_LABELS
from spotcheck.demo import county

ROOT = Path(__file__).resolve().parents[2]


def test_every_expertise_the_shipped_items_require_is_accepted_by_the_registry() -> None:
    required: set[str] = set()
    for path in sorted((ROOT / "rules").glob("items-*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in doc.get("items", []):
            required.update(item.get("expertise", []))
    assert required, "no item requires any expertise: the catalogue format changed?"
    missing = sorted(required - set(DEFAULT_EXPERTISE))
    assert missing == [], f"inspectors with {missing} would be refused on import"


def test_key_supervision_labels_are_spelled_alike_in_the_rules_and_the_directories() -> None:
    # An item's `key_supervision` matches the directory's labels exactly: a label the items
    # name but no directory writes would keep nobody out of that item's draw.
    named: set[str] = set()
    for path in sorted((ROOT / "rules").glob("items-*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in doc.get("items", []):
            value = item.get("key_supervision", [])
            named.update([value] if isinstance(value, str) else value or [])
    assert named, "no shipped item names a key-supervision label"
    assert named <= set(KEY_SUPERVISION_LABELS)
    written: set[str] = set()
    for make in (county.write_entities, synthetic.write_entities):
        out = io.StringIO()
        make(out, 4000, seed=5)
        for row in csv.DictReader(io.StringIO(out.getvalue())):
            written.update(x for x in row["key_supervision"].split(";") if x)
    assert written and written <= set(KEY_SUPERVISION_LABELS), written
