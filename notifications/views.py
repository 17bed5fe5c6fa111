"""The notification preferences: a section of the profile page (registered in apps.py) whose
form posts here."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from config.exceptions import ApplicationError

from . import selectors, services
from .forms import PreferencesForm


def profile_section_context(request) -> dict | None:
    if not request.user.is_authenticated or not request.user.is_customer:
        return None
    wanted = selectors.mail_kinds_wanted(user=request.user)
    return {"form": PreferencesForm(initial={"wanted": wanted})}


@login_required
@require_POST
def preferences(request):
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose among the listed kinds of mail.")
        return redirect("profile")
    try:
        services.preferences_set(user=request.user, wanted=form.cleaned_data["wanted"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Your email choices are saved.")
    return redirect("profile")
