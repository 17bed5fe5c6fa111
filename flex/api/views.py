"""The flex API: a charger's goal and its plan, a battery's schedule and its plan.

Customers set goals for their own chargers and schedules for their own batteries; staff for
any. Every door hands the body to the one validator in flex.services (goal_clean,
schedule_clean), so the API, the portal form and the admin refuse the same things the same way.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.permissions import IsCustomerOrStaff
from config.exceptions import NON_FIELD, InvalidInput

from .. import selectors, services
from ..models import ChargingGoal
from .serializers import (
    GoalInput,
    GoalOutput,
    ScheduleInput,
    ScheduleOutput,
    SessionOutcomeOutput,
)

KEY = OpenApiParameter(
    "key", OpenApiTypes.STR, OpenApiParameter.PATH, description="The battery's UUID or identifier."
)


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidInput({NON_FIELD: ["The body must be a JSON object."]})
    return dict(request.data)


def goal_answer(goal: ChargingGoal) -> dict:
    plan = selectors.plan_latest(goal=goal)
    goal.plan = None
    if plan is not None:
        plan.slots = selectors.plan_slots(plan=plan)
        goal.plan = plan
    return GoalOutput(goal).data


class ChargingGoalApi(GenericAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = GoalOutput
    queryset = ChargingGoal.objects.none()

    @extend_schema(responses=GoalOutput)
    def get(self, request, charger_id: int):
        """The charger's goal, its latest plan (power per half-hour against the prices it was
        planned with) and what the charger made of it."""
        goal = selectors.goal_for_user(user=request.user, charger_id=charger_id)
        return Response(goal_answer(goal))

    @extend_schema(request=GoalInput, responses=GoalOutput)
    def put(self, request, charger_id: int):
        """Set the goal (replacing any), plan it at once and send the plan to the charger as a
        charging profile. A charger that refuses it charges now; ``state`` and ``notice`` say
        so (the answer may arrive after this response: read the goal again)."""
        charger = selectors.charger_for_goal(user=request.user, charger_id=charger_id)
        goal = services.goal_set(charger=charger, **_body(request))
        return Response(goal_answer(goal))

    @extend_schema(responses={204: OpenApiResponse(description="Removed.")})
    def delete(self, request, charger_id: int):
        """Remove the goal; its profile is cleared and the charger charges at once."""
        goal = selectors.goal_for_user(user=request.user, charger_id=charger_id)
        services.goal_clear(goal=goal)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChargingSessionsApi(GenericAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = SessionOutcomeOutput
    queryset = ChargingGoal.objects.none()
    pagination_class = None

    @extend_schema(responses=SessionOutcomeOutput(many=True))
    def get(self, request, charger_id: int):
        """The goal's charger's latest finished sessions (at most 10, the latest first): what
        each cost at the household's half-hourly prices and what it saved against charging the
        same energy at once from when it started."""
        goal = selectors.goal_for_user(user=request.user, charger_id=charger_id)
        outcomes = services.session_outcomes(goal=goal)
        return Response(SessionOutcomeOutput(outcomes, many=True).data)


def schedule_answer(schedule) -> dict:
    plan = selectors.battery_plan_latest(schedule=schedule)
    schedule.plan = None
    if plan is not None:
        plan.slots = selectors.plan_slots(plan=plan)
        schedule.plan = plan
    return ScheduleOutput(schedule).data


class BatteryScheduleApi(GenericAPIView):
    permission_classes = [IsCustomerOrStaff]
    serializer_class = ScheduleOutput
    queryset = ChargingGoal.objects.none()

    @extend_schema(parameters=[KEY], responses=ScheduleOutput)
    def get(self, request, key: str):
        """The battery's schedule and its latest plan (W per half-hour, + discharging; SoC at
        each half-hour's start; projected cost against leaving it idle)."""
        return Response(schedule_answer(selectors.schedule_for_user(user=request.user, key=key)))

    @extend_schema(parameters=[KEY], request=ScheduleInput, responses=ScheduleOutput)
    def put(self, request, key: str):
        """Put the battery under the planner (or change its limits and target): planned at once,
        and this half-hour's order sent as an expiring instruction."""
        battery = selectors.battery_for_schedule(user=request.user, key=key)
        return Response(schedule_answer(services.schedule_set(battery=battery, **_body(request))))
