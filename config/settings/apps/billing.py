"""Settings of the billing app, read from the environment (see README, Configuration)."""

from celery.schedules import crontab

from ..environment import env

# Printed on invoices.
BILLING_SUPPLIER_NAME = env.str("BILLING_SUPPLIER_NAME", default="HomeGrid Energy")
BILLING_SUPPLIER_ADDRESS = env.str(
    "BILLING_SUPPLIER_ADDRESS", default="1 Grid Street, London N1 9GU"
)
BILLING_VAT_NUMBER = env.str("BILLING_VAT_NUMBER", default="GB 000 0000 00")
BILLING_SUPPLIER_PHONE = env.str("BILLING_SUPPLIER_PHONE", default="0800 000 0000")
BILLING_SUPPLIER_EMAIL = env.str("BILLING_SUPPLIER_EMAIL", default="billing@homegrid.example")
BILLING_COMPANY_NUMBER = env.str("BILLING_COMPANY_NUMBER", default="00000000")

# How a customer pays: a bill is due this many days after its issue date; a bank transfer goes
# to this sort code and account, with the customer's account number as the reference.
BILLING_PAYMENT_TERMS_DAYS = env.int("BILLING_PAYMENT_TERMS_DAYS", default=14)
BILLING_BANK_SORT_CODE = env.str("BILLING_BANK_SORT_CODE", default="00-00-00")
BILLING_BANK_ACCOUNT = env.str("BILLING_BANK_ACCOUNT", default="00000000")

# The month just ended is billed on the 1st at 02:00 local time (CELERY_TIMEZONE, Europe/London),
# after midnight's readings have arrived and been rolled up.
BILLING_BEAT_SCHEDULE: dict = {
    "billing-issue-previous-month": {
        "task": "billing.tasks.bills_issue_previous_month",
        "schedule": crontab(minute=0, hour=2, day_of_month=1),
    },
    "billing-runs-resume": {"task": "billing.tasks.bill_runs_resume", "schedule": 300.0},
}
