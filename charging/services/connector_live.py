"""A connector's live figures (power and the running session's energy) that pages show
between status notifications."""

from decimal import Decimal

from ..models import (
    ENERGY_REGISTER,
    Charger,
    Connector,
    MeterValue,
    Transaction,
)

POWER_IMPORT = "Power.Active.Import"
_TO_BASE = {"Wh": Decimal(1), "kWh": Decimal(1000), "W": Decimal(1), "kW": Decimal(1000)}


def _live_update(
    charger: Charger, connector_id: int, samples: list[MeterValue], session: Transaction | None
) -> None:
    """Keep the connector's live figures at its newest sample: power as sampled, energy as the
    running ``session``'s (register minus its meterStart; without a session only power moves).
    A late sample queued while offline does not overwrite a newer one."""
    power = energy = None
    for sample in samples:
        if sample.numeric is None or sample.phase or sample.unit not in _TO_BASE:
            continue
        if sample.measurand == POWER_IMPORT and (power is None or sample.sampled_at >= power[0]):
            power = (sample.sampled_at, sample.numeric * _TO_BASE[sample.unit])
        if (
            sample.measurand == ENERGY_REGISTER
            and session is not None
            and sample.sampled_at >= session.started_at
            and (energy is None or sample.sampled_at >= energy[0])
        ):
            delivered_wh = sample.numeric * _TO_BASE[sample.unit] - session.meter_start_wh
            if 0 <= delivered_wh < Decimal(10) ** 14:  # a register below meterStart is not it
                energy = (sample.sampled_at, delivered_wh / 1000)
    newest = max([p for p in (power, energy) if p], default=None, key=lambda p: p[0])
    if newest is None:
        return
    connector, _ = Connector.objects.select_for_update().get_or_create(
        charger=charger, connector_id=connector_id
    )
    if connector.live_at and connector.live_at > newest[0]:
        return
    if power:
        connector.live_power_w = power[1].quantize(Decimal("0.1"))
    if energy:
        connector.live_energy_kwh = energy[1].quantize(Decimal("0.001"))
    connector.live_at = newest[0]
    connector.save(update_fields=["live_power_w", "live_energy_kwh", "live_at"])


def _live_session_begins(charger: Charger, row: Transaction) -> None:
    """A new session on the connector: it shows 0 kWh delivered until its first sample."""
    connector, _ = Connector.objects.select_for_update().get_or_create(
        charger=charger, connector_id=row.connector_id
    )
    if connector.live_at and connector.live_at > row.started_at:
        return  # a start from the charger's offline queue, older than what is shown
    connector.live_energy_kwh = Decimal(0)
    connector.live_at = row.started_at
    connector.save(update_fields=["live_energy_kwh", "live_at"])


def _live_stop(charger: Charger, row: Transaction) -> None:
    """A session ended: the connector shows no power and the session's energy (meterStop minus
    meterStart, as billed) - unless a newer session began there already (a late stop from the
    charger's offline queue)."""
    newer = Transaction.objects.filter(
        charger=charger, connector_id=row.connector_id, started_at__gt=row.started_at
    )
    if newer.exists():
        return
    connector, _ = Connector.objects.select_for_update().get_or_create(
        charger=charger, connector_id=row.connector_id
    )
    connector.live_power_w = Decimal(0)
    connector.live_energy_kwh = row.energy_kwh
    connector.live_at = row.stopped_at
    connector.save(update_fields=["live_power_w", "live_energy_kwh", "live_at"])
