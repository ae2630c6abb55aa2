from datetime import UTC, date, datetime

from services.web.domain import writing


def test_dates_and_numbers_as_written_in_china() -> None:
    assert writing.day(date(2026, 12, 3)) == "2026年12月3日"
    assert writing.day(None) == ""
    # 01:30 UTC is 09:30 in Beijing, whatever zone the server runs in
    assert writing.moment(datetime(2026, 12, 3, 1, 30, tzinfo=UTC)) == "2026年12月3日 09:30"
    assert writing.number(1234567) == "1,234,567"
    assert writing.number(12.25) == "12.2"


def test_days_left() -> None:
    today = date(2026, 12, 3)
    assert writing.days_left(date(2026, 12, 6), today=today) == "还剩3天"
    assert writing.days_left(today, today=today) == "今天到期"
    assert writing.days_left(date(2026, 12, 1), today=today) == "已超期2天"


def test_iso_strings_from_the_services_json() -> None:
    assert writing.day("2026-12-31") == "2026年12月31日"
    assert writing.moment("2026-12-03T01:30:00Z") == "2026年12月3日 09:30"
    assert writing.moment("") == ""
