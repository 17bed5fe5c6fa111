"""The PDF invoice of a bill, drawn with ReportLab (pure Python, from PyPI alone)."""

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from . import selectors
from .models import Bill, BillState

_GRID = TableStyle(
    [
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def _money(bill: Bill, value: Decimal) -> str:
    return money_text(bill.currency, value)


def money_text(currency: str, value: Decimal) -> str:
    symbol = "£" if currency == "GBP" else f"{currency} "
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


def _when(value) -> str:
    return timezone.localtime(value).strftime("%d %b %Y %H:%M") if value else "-"


def usage_chart(bill: Bill, width: float = 170 * mm, height: float = 45 * mm) -> Drawing:
    """Bars of the kWh used each local day of the period."""
    days = [(day, float(kwh)) for day, kwh in bill.daily_usage]
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 10, "Daily usage (kWh)", fontSize=9))
    if not days:
        drawing.add(String(0, height / 2, "No readings this period.", fontSize=8))
        return drawing
    chart = VerticalBarChart()
    chart.x, chart.y = 25, 15
    chart.width, chart.height = width - 35, height - 32
    chart.data = [[kwh for _, kwh in days]]
    chart.categoryAxis.categoryNames = [day[8:10] for day, _ in days]
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#1f6feb")
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    return drawing


def invoice_pdf(bill: Bill) -> bytes:
    """The bill as an A4 PDF: header, meter reads, lines and totals, the usage chart, notes."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Bill {bill.number}",
        author=settings.BILLING_SUPPLIER_NAME,
    )
    story = _header(bill, styles)
    story += _reads(bill, styles)
    story += [_lines(bill, styles), Spacer(1, 4 * mm)]
    story += _balance(bill)
    story += [Spacer(1, 6 * mm), usage_chart(bill)]
    if bill.notes:
        story += [Spacer(1, 3 * mm), Paragraph("Notes", styles["Heading4"])]
        story += [Paragraph(escape(note), styles["BodyText"]) for note in bill.notes.splitlines()]
    document.build(story)
    return buffer.getvalue()


def _header(bill: Bill, styles) -> list:
    """Supplier, account and period; what a correction replaces; why a bill is void."""
    account = bill.account
    title = "Invoice" if bill.state == BillState.ISSUED else f"Invoice ({bill.get_state_display()})"
    story = [
        Paragraph(
            escape(f"{settings.BILLING_SUPPLIER_NAME} - {title} {bill.number}"), styles["Title"]
        ),
        Paragraph(
            escape(f"{settings.BILLING_SUPPLIER_ADDRESS} · VAT {settings.BILLING_VAT_NUMBER}"),
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            f"<b>Account {account.account_number}</b><br/>{escape(account.owner_name)}<br/>"
            + "<br/>".join(escape(line) for line in account.address.splitlines())
            + f"<br/>{escape(account.postcode)}",
            styles["Normal"],
        ),
        Spacer(1, 3 * mm),
        Paragraph(
            f"Period {bill.period_start:%d %b %Y} to {bill.period_end:%d %b %Y}"
            + (f" · issued {_when(bill.issued_at)}" if bill.issued_at else ""),
            styles["Normal"],
        ),
    ]
    if bill.corrects is not None:
        difference = bill.difference
        kind = "a credit" if difference < 0 else "a debit"
        story.append(
            Paragraph(
                f"This bill replaces {bill.corrects.number} (total "
                f"{_money(bill, bill.corrects.total)}): {kind} of "
                f"{_money(bill, abs(difference))}.",
                styles["Normal"],
            )
        )
    if bill.state == BillState.VOID:
        story.append(Paragraph(f"<b>VOID</b>: {escape(bill.void_reason)}", styles["Normal"]))
    story.append(Spacer(1, 4 * mm))
    return story


def _reads(bill: Bill, styles) -> list:
    """The meter reads table, or nothing when the bill has no meters."""
    reads = [["Meter", "Opening read", "Closing read", "kWh"]]
    for read in bill.reads.all():
        reads.append(
            [
                read.meter_serial,
                f"{read.opening_kwh if read.opening_kwh is not None else '-'} "
                f"({read.opening_quality or '-'}) {_when(read.opening_at)}",
                f"{read.closing_kwh if read.closing_kwh is not None else '-'} "
                f"({read.closing_quality or '-'}) {_when(read.closing_at)}",
                f"{read.consumption_kwh}",
            ]
        )
    if len(reads) == 1:
        return []
    return [
        Table(reads, colWidths=[30 * mm, 55 * mm, 55 * mm, 25 * mm], style=_GRID),
        Paragraph("A = actual read, E = estimated.", styles["Italic"]),
        Spacer(1, 4 * mm),
    ]


def _lines(bill: Bill, styles) -> Table:
    """The bill's lines, then subtotal, VAT and total."""
    lines = [["Description", "Quantity", "Unit price", "Amount"]]
    for line in bill.lines.all():
        lines.append(
            [
                Paragraph(escape(line.description), styles["BodyText"]),
                f"{line.quantity.normalize():f} {line.unit}",
                f"{line.unit_price.normalize():f}",
                _money(bill, line.amount),
            ]
        )
    lines += [
        ["Subtotal", "", "", _money(bill, bill.subtotal)],
        ["VAT", "", "", _money(bill, bill.vat)],
        [
            "Total: credit balance (we owe you)" if bill.is_credit else "Total",
            "",
            "",
            _money(bill, bill.total),
        ],
    ]
    table = Table(lines, colWidths=[90 * mm, 30 * mm, 20 * mm, 25 * mm])
    table.setStyle(_GRID)
    table.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, -3), (-1, -3), 0.5, colors.grey),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
            ]
        )
    )
    return table


def balance_text(currency: str, balance: Decimal) -> str:
    """A balance as a customer reads it: owed, in credit, or nothing either way."""
    if balance > 0:
        return f"{money_text(currency, balance)} owed"
    if balance < 0:
        return f"{money_text(currency, -balance)} in credit"
    return f"{money_text(currency, balance)}"


def _balance(bill: Bill) -> list:
    """The account's balance before this bill and after it (issued bills only)."""
    balance = selectors.bill_balance(bill=bill)
    if balance is None:
        return []
    label = "This correction" if bill.corrects_id else "This bill"
    rows = [
        ["Your account", ""],
        ["Balance brought forward", balance_text(bill.currency, balance.brought_forward)],
        [label, _money(bill, balance.this_bill)],
        ["Balance after this bill", balance_text(bill.currency, balance.after)],
    ]
    table = Table(rows, colWidths=[140 * mm, 25 * mm], style=_GRID)
    table.setStyle(TableStyle([("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold")]))
    return [table]


def statement_pdf(statement: selectors.Statement) -> bytes:
    """An account's statement as an A4 PDF: brought forward, each entry with the running
    balance, the closing balance."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    account = statement.account
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Statement {account.account_number}",
        author=settings.BILLING_SUPPLIER_NAME,
    )
    period = (
        f"{statement.start:%d %b %Y}" if statement.start else "the first entry",
        f"{statement.end:%d %b %Y}" if statement.end else timezone.localdate().strftime("%d %b %Y"),
    )
    rows = [
        ["Date", "Description", "Reference", "Amount", "Balance"],
        ["", "Balance brought forward", "", "", balance_text("GBP", statement.opening)],
    ]
    for line in statement.lines:
        entry = line.entry
        rows.append(
            [
                f"{entry.posted_on:%d %b %Y}",
                Paragraph(
                    escape(entry.description or entry.get_kind_display()), styles["BodyText"]
                ),
                Paragraph(escape(entry.reference), styles["BodyText"]),
                money_text(entry.currency, entry.amount),
                balance_text(entry.currency, line.balance),
            ]
        )
    rows.append(["", "Balance", "", "", balance_text("GBP", statement.closing)])
    table = Table(rows, colWidths=[22 * mm, 63 * mm, 30 * mm, 22 * mm, 33 * mm], style=_GRID)
    table.setStyle(TableStyle([("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold")]))
    story = [
        Paragraph(escape(f"{settings.BILLING_SUPPLIER_NAME} - Statement"), styles["Title"]),
        Paragraph(
            f"<b>Account {account.account_number}</b><br/>{escape(account.owner_name)}<br/>"
            f"{escape(account.postcode)}",
            styles["Normal"],
        ),
        Spacer(1, 3 * mm),
        Paragraph(f"From {period[0]} to {period[1]}", styles["Normal"]),
        Spacer(1, 4 * mm),
        table,
    ]
    document.build(story)
    return buffer.getvalue()
