"""Settings of the billing app, read from the environment (see README, Configuration)."""

from celery.schedules import crontab

from ..environment import env

# Printed on invoices.
BILLING_SUPPLIER_NAME = env.str("BILLING_SUPPLIER_NAME", default="HomeGrid Energy")
BILLING_SUPPLIER_ADDRESS = env.str(
    "BILLING_SUPPLIER_ADDRESS", default="1 Grid Street, London N1 9GU"
)
BILLING_VAT_NUMBER = env.str("BILLING_VAT_NUMBER", default="GB 000 0000 00")

# The month just ended is billed on the 1st at 02:00 local time (CELERY_TIMEZONE, Europe/London),
# after midnight's readings have arrived and been rolled up.
BILLING_BEAT_SCHEDULE: dict = {
    "billing-issue-previous-month": {
        "task": "billing.tasks.bills_issue_previous_month",
        "schedule": crontab(minute=0, hour=2, day_of_month=1),
    },
    "billing-runs-resume": {"task": "billing.tasks.bill_runs_resume", "schedule": 300.0},
}
