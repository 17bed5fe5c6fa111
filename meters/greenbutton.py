"""Green Button (NAESB ESPI) export: a meter's half-hourly import as an Atom feed of a UsagePoint,
its MeterReading, the ReadingType and one IntervalBlock per local day.

Values are Wh (ReadingType uom 72, powerOfTenMultiplier 0), delta data per 1,800 s interval;
times are Unix seconds as ESPI requires. Ids are UUIDs derived from the meter id, so the same
export gives the same document.
"""

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from xml.etree import ElementTree as ET

from . import selectors
from .models import Meter

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
ET.register_namespace("", ATOM)
ET.register_namespace("espi", ESPI)

# ESPI enumerations (NAESB REQ.21): delta data, electricity, Wh, energy, GBP, forward flow.
READING_TYPE = {
    "accumulationBehaviour": "4",
    "commodity": "1",
    "currency": "826",
    "dataQualifier": "12",
    "flowDirection": "1",
    "intervalLength": "1800",
    "kind": "12",
    "phase": "769",
    "powerOfTenMultiplier": "0",
    "timeAttribute": "0",
    "uom": "72",
}


def _seconds(at: datetime) -> str:
    return str(int(at.timestamp()))


def _sub(parent, tag: str, text: str | None = None, namespace: str = ESPI):
    element = ET.SubElement(parent, f"{{{namespace}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _entry(feed, *, meter: Meter, name: str, href: str, updated: str):
    entry = _sub(feed, "entry", namespace=ATOM)
    _sub(entry, "id", f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, meter.meter_id + href)}", ATOM)
    link = _sub(entry, "link", namespace=ATOM)
    link.set("rel", "self")
    link.set("href", href)
    _sub(entry, "title", name, ATOM)
    _sub(entry, "published", updated, ATOM)
    _sub(entry, "updated", updated, ATOM)
    return _sub(entry, "content", namespace=ATOM)


def green_button_xml(*, meter: Meter, start: datetime, end: datetime) -> bytes:
    """The ESPI feed of ``meter``'s half-hourly import in [start, end)."""
    rows = selectors.interval_series(
        meter=meter, period_from=start, period_to=end, group_by="half_hour"
    )
    updated = datetime.now(UTC).replace(microsecond=0).isoformat()
    base = f"/espi/1_1/resource/UsagePoint/{meter.meter_id}"
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, meter.meter_id)}", ATOM)
    _sub(feed, "title", f"HomeGrid energy usage of meter {meter.meter_id}", ATOM)
    _sub(feed, "updated", updated, ATOM)

    usage_point = _sub(
        _entry(feed, meter=meter, name=meter.meter_id, href=base, updated=updated), "UsagePoint"
    )
    _sub(_sub(usage_point, "ServiceCategory"), "kind", "0")  # electricity
    _entry(feed, meter=meter, name="Import", href=f"{base}/MeterReading/1", updated=updated)
    reading_type = _sub(
        _entry(feed, meter=meter, name="Half-hourly Wh", href="/ReadingType/1", updated=updated),
        "ReadingType",
    )
    for tag, value in READING_TYPE.items():
        _sub(reading_type, tag, value)

    per_day = defaultdict(list)
    for row in rows:
        per_day[row["interval_start"].date()].append(row)
    for number, (day, day_rows) in enumerate(sorted(per_day.items()), start=1):
        block = _sub(
            _entry(
                feed,
                meter=meter,
                name=f"{day.isoformat()}",
                href=f"{base}/MeterReading/1/IntervalBlock/{number}",
                updated=updated,
            ),
            "IntervalBlock",
        )
        first, last = day_rows[0]["interval_start"], day_rows[-1]["interval_end"]
        interval = _sub(block, "interval")
        _sub(interval, "duration", str(int((last - first).total_seconds())))
        _sub(interval, "start", _seconds(first))
        for row in day_rows:
            reading = _sub(block, "IntervalReading")
            period = _sub(reading, "timePeriod")
            duration = row["interval_end"] - row["interval_start"]
            _sub(period, "duration", str(int(duration.total_seconds())))
            _sub(period, "start", _seconds(row["interval_start"]))
            wh = (row["consumption"] * 1000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
            _sub(reading, "value", str(wh))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
