"""Billing months: parsing ``YYYY-MM`` and stepping between months."""

from datetime import date, timedelta

from django.utils import timezone

from config.exceptions import ApplicationError


def month_of(value: str | date) -> date:
    """``YYYY-MM`` (or any day of the month) -> the month's first day."""
    if isinstance(value, date):
        return value.replace(day=1)
    try:
        year, month = (int(part) for part in value.strip().split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise ApplicationError(f"month: {value!r} is not YYYY-MM.", field="month") from exc


def ended_month(value: str | date) -> date:
    """The month's first day, refusing a month that has not ended (its bill would be partial)."""
    first = month_of(value)
    if first >= timezone.localdate().replace(day=1):
        raise ApplicationError(
            f"month: {first:%Y-%m} has not ended yet; bill a past month.", field="month"
        )
    return first


def next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
