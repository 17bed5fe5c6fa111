"""Set-based reads of a set of meters over a period [S, E], for billing's month usage
(billing/usage.py): a fixed number of queries per chunk of meters, never one per meter. Billing
computes from these rows and queries no meters table itself."""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from django.db.models import F, OuterRef, Q, Subquery, Window
from django.db.models.functions import Lag

from meters.models import DailyUsage, Meter, Reading

# The four boundary readings of each meter: the reading at or before S ("b0") and the first after
# it ("a0"), and the same around E ("b1", "a1"). Each comes as ``<name>_<column>`` in the rows of
# ``meter_boundary_readings``.
BOUNDARIES = {"b0": ("lte", "S"), "a0": ("gt", "S"), "b1": ("lte", "E"), "a1": ("gt", "E")}
BOUNDARY_COLUMNS = (
    "at",
    "import_kwh",
    "quality",
    "register_reset",
    "export_kwh",
    "export_register_reset",
)


def meters_by_timezone(*, account_ids: Iterable[int]) -> dict[str, list[int]]:
    """The pks of the accounts' meters, by the meters' time-zone name (a local month has its
    own bounds in each zone)."""
    by_timezone: dict[str, list[int]] = defaultdict(list)
    for pk, tz_name in Meter.objects.filter(account_id__in=account_ids).values_list(
        "pk", "timezone"
    ):
        by_timezone[tz_name].append(pk)
    return by_timezone


def meter_boundary_readings(*, meter_pks: list[int], start: datetime, end: datetime):
    """Per meter (pk, meter_id, account_id, timezone): the reading at/before and after each of
    S=``start`` and E=``end`` (correlated sub-queries on the (meter, at) index), as the columns
    ``<boundary>_<column>`` of BOUNDARIES and BOUNDARY_COLUMNS (None where there is none)."""
    instants = {"S": start, "E": end}
    annotations = {}
    for name, (lookup, instant) in BOUNDARIES.items():
        order = "-at" if lookup == "lte" else "at"
        nearest = Reading.objects.filter(
            meter=OuterRef("pk"), **{f"at__{lookup}": instants[instant]}
        ).order_by(order)
        for column in BOUNDARY_COLUMNS:
            annotations[f"{name}_{column}"] = Subquery(nearest.values(column)[:1])
    return (
        Meter.objects.filter(pk__in=meter_pks)
        .annotate(**annotations)
        .values("pk", "meter_id", "account_id", "timezone", *annotations)
    )


def daily_usage_rows(
    *, meter_pks: list[int], first_day: date, last_day: date, exported_only: bool = False
):
    """(meter pk, day, import_kwh, export_kwh) of the meters' daily roll-ups from ``first_day``
    to ``last_day`` inclusive; with ``exported_only``, only days with an export register."""
    rows = DailyUsage.objects.filter(meter_id__in=meter_pks, day__gte=first_day, day__lte=last_day)
    if exported_only:
        rows = rows.filter(export_kwh__isnull=False)
    return rows.values_list("meter_id", "day", "import_kwh", "export_kwh")


def reading_intervals(*, meter_pks: list[int], start: datetime, end: datetime) -> Iterator[tuple]:
    """Consecutive readings of each meter paired in SQL (the window function LAG), from the
    reading at or before ``start`` to the first after ``end``: (meter pk, previous at, previous
    import_kwh, at, import_kwh, register_reset); the previous values are None for a meter's first
    reading. Streamed."""
    window = {"partition_by": [F("meter_id")], "order_by": F("at").asc()}
    lower = Subquery(
        Reading.objects.filter(meter=OuterRef("meter_id"), at__lte=start)
        .order_by("-at")
        .values("at")[:1]
    )
    upper = Subquery(
        Reading.objects.filter(meter=OuterRef("meter_id"), at__gt=end)
        .order_by("at")
        .values("at")[:1]
    )
    pairs = (
        Reading.objects.filter(meter_id__in=meter_pks)
        .filter(Q(at__gt=start) | Q(at__gte=lower))
        .filter(Q(at__lte=end) | Q(at__lte=upper))
        .annotate(
            prev_at=Window(Lag("at"), **window),
            prev_kwh=Window(Lag("import_kwh"), **window),
        )
        .values_list("meter_id", "prev_at", "prev_kwh", "at", "import_kwh", "register_reset")
    )
    return pairs.iterator(chunk_size=20_000)


def export_reading_intervals(
    *, meter_pks: list[int], start: datetime, end: datetime
) -> Iterator[tuple]:
    """As ``reading_intervals``, for the export register: (meter pk, previous at, previous
    export_kwh, at, export_kwh, export_register_reset), over readings that have an export
    register (a reading without one neither starts nor ends an export interval). Streamed."""
    window = {"partition_by": [F("meter_id")], "order_by": F("at").asc()}
    with_export = Reading.objects.filter(export_kwh__isnull=False)
    lower = Subquery(
        with_export.filter(meter=OuterRef("meter_id"), at__lte=start)
        .order_by("-at")
        .values("at")[:1]
    )
    upper = Subquery(
        with_export.filter(meter=OuterRef("meter_id"), at__gt=end).order_by("at").values("at")[:1]
    )
    pairs = (
        with_export.filter(meter_id__in=meter_pks)
        .filter(Q(at__gt=start) | Q(at__gte=lower))
        .filter(Q(at__lte=end) | Q(at__lte=upper))
        .annotate(
            prev_at=Window(Lag("at"), **window),
            prev_kwh=Window(Lag("export_kwh"), **window),
        )
        .values_list("meter_id", "prev_at", "prev_kwh", "at", "export_kwh", "export_register_reset")
    )
    return pairs.iterator(chunk_size=20_000)


def register_resets(*, meter_pks: list[int], start: datetime, end: datetime):
    """The meter pk of every reading in (``start``, ``end``] that resets a register (import,
    export or both: one per reading)."""
    return (
        Reading.objects.filter(meter_id__in=meter_pks, at__gt=start, at__lte=end)
        .filter(Q(register_reset=True) | Q(export_register_reset=True))
        .values_list("meter_id", flat=True)
    )
