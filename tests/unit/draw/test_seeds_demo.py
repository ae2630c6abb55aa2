"""Demo seeds: labelled in the record, refused unless the deployment allows them."""

import pytest

from services.draw.domain.seeds import SeedSource, check_seed
from services.kit.errors import Invalid

DEMO = "9f" * 16


def test_demo_seed_refused_by_default() -> None:
    with pytest.raises(Invalid, match="not allowed"):
        check_seed(DEMO, SeedSource.DEMO)


def test_demo_seed_accepted_where_allowed_and_checked() -> None:
    assert check_seed(f"  {DEMO}\n", "demo", allow_demo=True) == DEMO
    with pytest.raises(Invalid, match="hex"):
        check_seed("12345", "demo", allow_demo=True)
