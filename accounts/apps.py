from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from config import database
        from config.status import register_status_section

        database.connect()
        from . import selectors

        register_status_section("accounts", selectors.account_counts)
