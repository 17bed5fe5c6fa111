from django.contrib.auth import authenticate, update_session_auth_hash
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts import login_guard, selectors, services
from accounts.authentication import TokenAuthentication
from accounts.models import ApiToken, CustomerAccount, User
from accounts.permissions import IsStaff

from .serializers import (
    AccountInput,
    AccountOutput,
    IssuedTokenOutput,
    LoginTokenInput,
    MeInput,
    MeOutput,
    TokenInput,
    TokenOutput,
    UserInput,
    UserOutput,
)


def _issued(issued: services.IssuedToken) -> dict:
    return TokenOutput(issued.token).data | {"key": issued.key}


class MeApi(GenericAPIView):
    """The authenticated user, with the customer accounts they may see."""

    permission_classes = [IsAuthenticated]
    serializer_class = MeOutput

    def get(self, request):
        return Response(MeOutput(request.user).data)

    @extend_schema(
        request=MeInput,
        responses=MeOutput,
        description=(
            "Changing `email` or `password` needs `current_password` (400 naming it otherwise); "
            "the old address is told of a new one by mail. A new password revokes every API "
            "token of yours but the one making this request, and ends your other sessions."
        ),
    )
    def patch(self, request):
        data = MeInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        user = services.user_update_own(
            user=request.user,
            current_password=changes.pop("current_password", None),
            request=request,
            keep_token=request.auth if isinstance(request.auth, ApiToken) else None,
            **changes,
        )
        if changes.get("password") and isinstance(
            request.successful_authenticator, SessionAuthentication
        ):
            update_session_auth_hash(request, user)
        return Response(MeOutput(user).data)


class LoginTokenApi(GenericAPIView):
    """Exchange email and password for a new named API token (throttled; failures count towards
    the same lockout as the portal's login)."""

    permission_classes = [AllowAny]
    # Only so that a wrong password is answered 401 with a WWW-Authenticate header, not 403.
    authentication_classes = [TokenAuthentication]
    throttle_scope = "login"
    serializer_class = LoginTokenInput

    @extend_schema(request=LoginTokenInput, responses={201: IssuedTokenOutput})
    def post(self, request):
        data = LoginTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request, email=data.validated_data["email"], password=data.validated_data["password"]
        )
        if getattr(request, "axes_locked_out", False):
            minutes = login_guard.lockout_minutes(request)
            raise Throttled(
                wait=minutes * 60 or None,
                detail=(
                    "Too many failed logins for this user or from this address: "
                    + (f"try again in {minutes} minutes." if minutes else "ask staff to unlock it.")
                ),
            )
        if user is None:
            raise AuthenticationFailed("Email or password is wrong, or the user is inactive.")
        issued = services.token_create(user=user, name=data.validated_data["name"])
        return Response(_issued(issued), status=status.HTTP_201_CREATED)


class TokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your API tokens. Creating one shows its key once; deleting one revokes it."""

    permission_classes = [IsAuthenticated]
    serializer_class = TokenOutput
    throttle_scope = "token"
    filterset_fields = ["revoked_at"]

    def get_queryset(self):
        return selectors.tokens_for_user(user=self.request.user)

    @extend_schema(request=TokenInput, responses={201: IssuedTokenOutput})
    def create(self, request):
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.token_create(user=request.user, name=data.validated_data["name"])
        return Response(_issued(issued), status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        services.token_revoke(user=request.user, token_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StaffCrudViewSet(viewsets.ModelViewSet):
    """Staff-only create, read and update, through the app's services. No delete: meters,
    bills, charging sessions and audit trails refer to users and accounts; a user who leaves is
    deactivated (``is_active: false``)."""

    permission_classes = [IsStaff]
    input_serializer: type
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _validated(self, partial: bool) -> dict:
        data = self.input_serializer(data=self.request.data, partial=partial)
        data.is_valid(raise_exception=True)
        return data.validated_data

    def _respond(self, instance, code=status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(instance).data, status=code)


@extend_schema(request=UserInput, responses=UserOutput)
class UserViewSet(StaffCrudViewSet):
    queryset = User.objects.all()
    serializer_class = UserOutput
    input_serializer = UserInput
    filterset_fields = ["role", "is_active"]

    def create(self, request):
        fields = self._validated(partial=False)
        is_active = fields.pop("is_active", True)
        user = services.user_create(password=fields.pop("password", None), **fields)
        if not is_active:
            user = services.user_update(user=user, is_active=False)
        return self._respond(user, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        user = services.user_update(user=self.get_object(), **self._validated(partial=True))
        return self._respond(user)


@extend_schema(request=AccountInput, responses=AccountOutput)
class AccountViewSet(StaffCrudViewSet):
    queryset = CustomerAccount.objects.prefetch_related("users")
    serializer_class = AccountOutput
    input_serializer = AccountInput
    filterset_fields = ["region", "area", "dwelling_type", "postcode"]

    def create(self, request):
        account = services.account_create(**self._validated(partial=False))
        return self._respond(account, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        account = services.account_update(
            account=self.get_object(), **self._validated(partial=True)
        )
        return self._respond(account)
