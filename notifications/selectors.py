from accounts.models import User

from .models import MAIL_KINDS, NotificationPreference


def mail_kinds_wanted(*, user: User) -> list[str]:
    preference = NotificationPreference.objects.filter(user=user).first()
    muted = preference.muted_kinds if preference else []
    return [kind for kind in MAIL_KINDS if kind not in muted]
