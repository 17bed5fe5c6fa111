from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from config.status import register_status_section

        from . import selectors

        register_status_section("accounts", selectors.account_counts)
