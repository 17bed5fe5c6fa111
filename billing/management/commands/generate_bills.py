from django.core.management.base import BaseCommand, CommandError

from accounts.models import CustomerAccount
from billing import services
from config.exceptions import ApplicationError
from config.progress import advance_to, progress


class Command(BaseCommand):
    help = (
        "Generate the bills of a past month (local calendar month) for every account, or for the "
        "--account numbers given. Idempotent: issued bills are left as they are, drafts are "
        "regenerated, missing bills created and issued (unless --draft or they need review)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument(
            "--account", action="append", default=[], help="An account number (repeatable)."
        )
        parser.add_argument(
            "--draft", action="store_true", help="Leave new bills as drafts for review."
        )

    def handle(self, *args, **options):
        accounts = None
        if options["account"]:
            numbers = set(options["account"])
            accounts = list(CustomerAccount.objects.filter(account_number__in=numbers))
            missing = numbers - {account.account_number for account in accounts}
            if missing:
                raise CommandError(f"--account: no account {', '.join(sorted(missing))}.")
        try:
            with progress(total=None, desc="bills", unit="accounts", stream=self.stderr) as bar:
                run, summary = services.bills_generate(
                    month=options["month"],
                    accounts=accounts,
                    issue=not options["draft"],
                    trigger="command",
                    progress=lambda done, total: advance_to(bar, done, total),
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        seconds = (run.finished_at - run.started_at).total_seconds()
        self.stdout.write(
            f"Bills for {run.month:%Y-%m}: {summary.accounts} accounts in {seconds:.1f} s; "
            f"created {summary.created}, regenerated drafts {summary.regenerated}, unchanged "
            f"(already issued) {summary.unchanged}, issued {summary.issued}, flagged for review "
            f"{summary.flagged}."
        )
