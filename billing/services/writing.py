"""Writing a chunk's composed bills, lines and meter reads in bulk: COPY on PostgreSQL (a
month's lines are hundreds of thousands of rows), bulk_create elsewhere."""

import json
from datetime import date

from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from ..models import Bill, BillLine, BillMeterRead
from .drafts import BillDraft
from .money import KWH


def fill(bill: Bill, draft: BillDraft, days: list[tuple[date, str]]) -> None:
    """Copy a draft's totals, review flag, notes and daily usage onto its bill row."""
    bill.subtotal = draft.subtotal
    bill.vat = draft.vat
    bill.total = bill.subtotal + bill.vat
    bill.consumption_kwh = draft.consumption_kwh
    bill.needs_review = draft.needs_review
    bill.notes = "\n".join(dict.fromkeys(draft.notes))
    daily = draft.daily
    bill.daily_usage = [
        [iso, str(daily[day].quantize(KWH)) if day in daily else "0.0000"] for day, iso in days
    ]


_LINE_COLUMNS = [
    "bill_id",
    "position",
    "kind",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "tariff_id",
    "band",
    "charging_transaction_id",
]
_READ_COLUMNS = [
    "bill_id",
    "meter_id",
    "meter_serial",
    "opening_at",
    "opening_kwh",
    "opening_quality",
    "closing_at",
    "closing_kwh",
    "closing_quality",
    "consumption_kwh",
    "register_resets",
    "note",
]


def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    """COPY on PostgreSQL (a month's lines are hundreds of thousands of rows), bulk_create
    elsewhere."""
    if not rows:
        return
    if settings.DATABASE_IS_POSTGRES:
        with connection.cursor() as cursor:
            statement = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        return
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=500
    )


def create_bills(bills: list[Bill]) -> None:
    """Ids from the table's sequence, then COPY on PostgreSQL; bulk_create elsewhere."""
    if not bills:
        return
    if not settings.DATABASE_IS_POSTGRES:
        Bill.objects.bulk_create(bills, batch_size=1000)
        return
    table = Bill._meta.db_table
    fields = Bill._meta.concrete_fields
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(bills)],
        )
        for bill, (pk,) in zip(bills, cursor.fetchall(), strict=True):
            bill.pk = pk
            bill.created_at = bill.updated_at = now
            bill._state.adding = False
        columns = ", ".join(field.column for field in fields)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for bill in bills:
                copy.write_row(
                    [
                        json.dumps(getattr(bill, field.attname))
                        if isinstance(field, models.JSONField)
                        else getattr(bill, field.attname)
                        for field in fields
                    ]
                )


def write_children(pairs: list[tuple[Bill, BillDraft]]) -> None:
    lines, reads = [], []
    for bill, draft in pairs:
        for position, line in enumerate(draft.lines, start=1):
            lines.append(
                (
                    bill.pk,
                    position,
                    line.kind,
                    line.description[:200],
                    line.quantity,
                    line.unit,
                    line.unit_price,
                    line.amount,
                    line.tariff.pk if line.tariff else None,
                    line.band,
                    line.charging_transaction_id,
                )
            )
        for read in draft.reads:
            reads.append(
                (
                    bill.pk,
                    read.meter_id,
                    read.meter_serial,
                    read.opening_at,
                    read.opening_kwh,
                    read.opening_quality,
                    read.closing_at,
                    read.closing_kwh,
                    read.closing_quality,
                    read.consumption_kwh,
                    read.register_resets,
                    read.note,
                )
            )
    _insert(BillLine, _LINE_COLUMNS, lines)
    _insert(BillMeterRead, _READ_COLUMNS, reads)


def write_chunk(
    *, new_pairs: list[tuple[Bill, BillDraft]], regenerated: list[tuple[Bill, BillDraft]]
) -> None:
    """Store a chunk: regenerated drafts are updated and lose their old lines and reads, new
    bills are created, then every bill's lines and reads are written."""
    if regenerated:
        ids = [bill.pk for bill, _ in regenerated]
        BillLine.objects.filter(bill_id__in=ids).delete()
        BillMeterRead.objects.filter(bill_id__in=ids).delete()
        Bill.objects.bulk_update(
            [bill for bill, _ in regenerated],
            [
                "subtotal",
                "vat",
                "total",
                "consumption_kwh",
                "needs_review",
                "notes",
                "daily_usage",
                "corrects",
                "updated_at",
            ],
            batch_size=1000,
        )
    if new_pairs:
        create_bills([bill for bill, _ in new_pairs])
    write_children(new_pairs + regenerated)
