"""MeterValues samples: stored as sent, attached to the session they name when it is theirs."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from ..models import (
    ENERGY_REGISTER,
    Charger,
    MeterValue,
    Transaction,
)
from .common import _anomaly, _push_session_event, _transaction_for, parse_ocpp_time
from .connector_live import _live_update


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    # What the column holds: 14 integer digits, 6 decimals.
    if not number.is_finite() or abs(number) >= Decimal(10) ** 14:
        return None
    return number.quantize(Decimal("0.000001"))


def _meter_values_store(
    charger: Charger, row: Transaction | None, connector_id: int, meter_values: list
) -> list[MeterValue]:
    samples = []
    for meter_value in meter_values:
        sampled_at = parse_ocpp_time(meter_value.get("timestamp"))
        if sampled_at is None:
            _anomaly(charger, "bad_timestamp", row, timestamp=meter_value.get("timestamp"))
            sampled_at = timezone.now()
        for sampled in meter_value.get("sampled_value") or []:
            raw = str(sampled.get("value", ""))[:255]
            samples.append(
                MeterValue(
                    charger=charger,
                    connector_id=connector_id,
                    transaction=row,
                    sampled_at=sampled_at,
                    value=raw,
                    numeric=_decimal(raw),
                    measurand=sampled.get("measurand") or ENERGY_REGISTER,
                    phase=sampled.get("phase") or "",
                    unit=sampled.get("unit") or "Wh",
                    context=sampled.get("context") or "Sample.Periodic",
                    location=sampled.get("location") or "Outlet",
                    format=sampled.get("format") or "Raw",
                )
            )
    return MeterValue.objects.bulk_create(samples)


def _open_session(charger: Charger, connector_id: int) -> Transaction | None:
    """The session running on the connector (the newest, if a lost stop left an older open)."""
    return (
        Transaction.objects.filter(
            charger=charger, connector_id=connector_id, stopped_at__isnull=True
        )
        .order_by("-started_at", "-pk")
        .first()
    )


@transaction.atomic
def meter_values_record(
    *, charger: Charger, connector_id: int, meter_value: list, transaction_id: int | None = None
) -> list[MeterValue]:
    """Store samples. They move the connector's live figures only for the session running
    there: samples naming a transaction this charger never had (777777, 0, -1), one already
    stopped, or one on another connector are kept (unattached when unknown) with an anomaly and
    never applied. Samples naming no transaction are kept unattached and count for the session
    running on the connector, if any."""
    row = _transaction_for(charger, transaction_id)
    samples = _meter_values_store(charger, row, connector_id, meter_value)
    anomaly = ""
    if transaction_id is not None and row is None:
        anomaly = "meter_values_unknown_transaction"
    elif row is not None and row.stopped_at is not None:
        anomaly = "meter_values_stopped_transaction"
    elif row is not None and row.connector_id != connector_id:
        anomaly = "meter_values_other_connector"
    if anomaly:
        _anomaly(
            charger,
            anomaly,
            row,
            transaction_id=transaction_id,
            connector_id=connector_id,
            samples=len(samples),
        )
    else:
        _live_update(charger, connector_id, samples, row or _open_session(charger, connector_id))
    if row is not None:
        _push_session_event(
            charger,
            row,
            "charging.meter",
            {"transaction_id": row.pk, "connector_id": connector_id, "samples": len(samples)},
        )
    return samples
