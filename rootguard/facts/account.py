"""Account and billing facts: the primary and alternate contacts, and cost budgets with their alert subscribers."""

from __future__ import annotations

import json
from dataclasses import dataclass

from rootguard.facts.registry import Unreadable, fact
from rootguard.facts.shapes import maybe, need

CONTACT_TYPES = ("BILLING", "OPERATIONS", "SECURITY")
BUDGETS = "budgets:DescribeBudgets"
NOTIFICATIONS = "budgets:DescribeNotificationsForBudget"
SUBSCRIBERS = "budgets:DescribeSubscribersForNotification"


@fact("account.alternate_contact")
def alternate_contact(ctx, contact_type: str) -> dict | None:
    """GetAlternateContact for one type; None when it is not set (ResourceNotFoundException)."""
    response = ctx.call("account", "get_alternate_contact", absent=("ResourceNotFoundException",), AlternateContactType=contact_type)
    if response is None:
        return None
    contact = need(response, "AlternateContact", dict, "account:GetAlternateContact")
    need(contact, "EmailAddress", str, "account:GetAlternateContact")  # AWS requires it when the contact is set
    return contact


@fact("account.alternate_contacts")
def alternate_contacts(ctx) -> dict:
    """Fetched ahead: the billing, operations and security alternate contacts (None where unset, or Unreadable)."""
    return {kind: ctx.attempt("account.alternate_contact", contact_type=kind) for kind in CONTACT_TYPES}


@dataclass(frozen=True)
class PrimaryContact:
    full_name: str
    phone_number: str
    address_line1: str
    city: str
    postal_code: str
    country_code: str
    company_name: str | None


@fact("account.contact_information")
def contact_information(ctx) -> PrimaryContact | None:
    """GetContactInformation: the account's primary contact; None when none is set."""
    action = "account:GetContactInformation"
    response = ctx.call("account", "get_contact_information", absent=("ResourceNotFoundException",))
    if response is None:
        return None
    contact = need(response, "ContactInformation", dict, action)
    # AWS requires these fields when the contact is set; one missing is a response rootguard does not know.
    return PrimaryContact(
        full_name=need(contact, "FullName", str, action),
        phone_number=need(contact, "PhoneNumber", str, action),
        address_line1=need(contact, "AddressLine1", str, action),
        city=need(contact, "City", str, action),
        postal_code=need(contact, "PostalCode", str, action),
        country_code=need(contact, "CountryCode", str, action),
        company_name=maybe(contact, "CompanyName", str, action),
    )


@fact("budgets.budgets")
def budgets(ctx) -> list:
    """Every budget of the account (DescribeBudgets, all pages)."""
    return ctx.paginate("budgets", "describe_budgets", "Budgets", AccountId=ctx.account.id)


# A budget or notification deleted between listing and reading (NotFoundException) is gone, not unreadable.
GONE = ("NotFoundException",)


@fact("budgets.notifications")
def notifications(ctx, budget: str) -> list | None:
    """The notifications of one budget; None when the budget no longer exists."""
    return ctx.paginate(
        "budgets", "describe_notifications_for_budget", "Notifications", absent=GONE, AccountId=ctx.account.id, BudgetName=budget
    )


@fact("budgets.subscribers")
def subscribers(ctx, budget: str, notification: str) -> list | None:
    """The subscribers of one budget notification (the notification passed as JSON); None when it no longer exists."""
    return ctx.paginate(
        "budgets",
        "describe_subscribers_for_notification",
        "Subscribers",
        absent=GONE,
        AccountId=ctx.account.id,
        BudgetName=budget,
        Notification=json.loads(notification),
    )


@dataclass(frozen=True)
class BudgetAlert:
    notification_type: str
    comparison: str
    threshold: float
    subscribers: tuple[str, ...]  # "EMAIL:someone@example.com", "SNS:arn:..."

    def describe(self) -> str:
        return f"{self.threshold:g} ({self.notification_type.lower()})"


@fact("budgets.cost_budget_names")
def cost_budget_names(ctx) -> list[str]:
    """The names of the account's cost budgets."""
    return [
        need(budget, "BudgetName", str, BUDGETS) for budget in ctx.fact("budgets.budgets") if need(budget, "BudgetType", str, BUDGETS) == "COST"
    ]


@fact("budgets.alerts")
def alerts(ctx, budget: str) -> tuple | None:
    """One budget's notifications with their subscribers (each a BudgetAlert, or Unreadable); None when the budget is gone."""
    listed = ctx.fact("budgets.notifications", budget=budget)
    if listed is None:
        return None
    found = []
    for note in listed:
        wanted = {
            "NotificationType": need(note, "NotificationType", str, NOTIFICATIONS),
            "ComparisonOperator": need(note, "ComparisonOperator", str, NOTIFICATIONS),
            "Threshold": need(note, "Threshold", (int, float), NOTIFICATIONS),
        }
        # Optional in AWS's answer (PERCENTAGE when absent); asked back only when it was given.
        kind = maybe(note, "ThresholdType", str, NOTIFICATIONS)
        if kind:
            wanted["ThresholdType"] = kind
        people = ctx.attempt("budgets.subscribers", budget=budget, notification=json.dumps(wanted, sort_keys=True))
        if isinstance(people, Unreadable) or people is None:
            found.append(people)  # None: the notification went away after it was listed
            continue
        found.append(
            BudgetAlert(
                notification_type=wanted["NotificationType"],
                comparison=wanted["ComparisonOperator"],
                threshold=float(wanted["Threshold"]),
                subscribers=tuple(f"{need(s, 'SubscriptionType', str, SUBSCRIBERS)}:{need(s, 'Address', str, SUBSCRIBERS)}" for s in people),
            )
        )
    return tuple(found)


@fact("budgets.cost_budgets")
def cost_budgets(ctx) -> dict:
    """Fetched ahead for budget-alerts: each cost budget's alerts (name -> alerts, None or Unreadable)."""
    return {name: ctx.attempt("budgets.alerts", budget=name) for name in ctx.fact("budgets.cost_budget_names")}
