from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from config.exceptions import ApplicationError
from config.portal import home_panels, profile_sections

from . import selectors, services
from .forms import ProfileForm, RegistrationForm, TokenForm


def _attach_errors(form, exc: ApplicationError) -> None:
    """Show a service's refusal on the form field it names."""
    if isinstance(exc, services.InvalidInput):
        for field, errors in exc.errors.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def home(request):
    if not request.user.is_authenticated:
        return render(request, "accounts/landing.html")
    context = {
        "accounts": selectors.accounts_for_user(user=request.user),
        "panels": home_panels(request),
    }
    return render(request, "accounts/home.html", context)


def register(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registration = services.customer_register(**form.cleaned_data)
        except ApplicationError as exc:
            _attach_errors(form, exc)
        else:
            login(request, registration.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                f"Welcome to HomeGrid. Your account number is "
                f"{registration.account.account_number}.",
            )
            return redirect("home")
    return render(request, "accounts/register.html", {"form": form})


@login_required
def profile(request):
    user = request.user
    form = ProfileForm(
        request.POST or None, initial={"full_name": user.full_name, "email": user.email}
    )
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        try:
            services.user_update_own(
                user=user,
                current_password=changes.pop("current_password"),
                request=request,
                **changes,
            )
        except ApplicationError as exc:
            _attach_errors(form, exc)
        else:
            messages.success(request, "Your details are saved.")
            return redirect("profile")
    accounts = selectors.accounts_for_user(user=user)
    context = {"form": form, "accounts": accounts, "sections": profile_sections(request)}
    return render(request, "accounts/profile.html", context)


@login_required
def tokens(request):
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.token_create(user=request.user, name=form.cleaned_data["name"])
        except ApplicationError as exc:
            _attach_errors(form, exc)
        else:
            new_key = issued.key
            form = TokenForm()
    context = {
        "form": form,
        "new_key": new_key,
        "tokens": selectors.tokens_for_user(user=request.user),
    }
    return render(request, "accounts/tokens.html", context)


@login_required
@require_POST
def token_revoke(request, token_id: int):
    try:
        token = services.token_revoke(user=request.user, token_id=token_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Token “{token.name}” is revoked.")
    return redirect("tokens")
