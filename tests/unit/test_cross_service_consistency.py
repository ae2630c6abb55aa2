"""What one service's data promises another: checked on the shipped files."""

from pathlib import Path

import yaml

from services.registry.domain.vocabulary import DEFAULT_EXPERTISE

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
