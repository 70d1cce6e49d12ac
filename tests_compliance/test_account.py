"""Account controls: who AWS can reach about the account, and whether anyone hears about spend."""

import re

from rootguard.controls import control, fail
from rootguard.facts import Unreadable
from rootguard.facts.account import CONTACT_TYPES
from rootguard.controls.partial import Gaps

# A leading + and a country code, then digits with the usual separators: 7 to 15 digits in all (E.164).
INTERNATIONAL_PHONE = re.compile(r"^\+[1-9][0-9 ().-]+$")


@control(
    id="root-contact-details",
    title="The account's primary contact has a name, an international phone number and an address",
    severity="medium",
    rationale="""AWS uses the primary contact to verify who is asking when the root user's email or MFA
        device is lost; an incomplete or unreachable contact turns account recovery into a support
        case nobody can win, and invites the root credentials to be kept somewhere unsafe instead.""",
    remediation="""Complete the contact: Account > Contact information > Edit, with a full name, a phone
        number written with + and country code (like +1 206 555 0100) and a postal address
        (aws account put-contact-information).""",
    passes_when="""the account's primary contact (GetContactInformation) has a full name, a phone number in
        international format (a leading `+` and country code, 7 to 15 digits) and an address with
        street, city and country""",
    facts=["account.contact_information"],
    frameworks={
        "soc2": ["CC2.3"],
        "iso27001": ["A.5.24", "A.5.23"],
        "cis-v3": ["1.1"],
        "cis-v5": ["1.1"],
        "cis-v6": ["2.1"],
        "cis-v7": ["2.2"],
    },
)
def test_root_contact_details(account):
    contact = account.fact("account.contact_information")
    if contact is None:
        fail("no primary contact information is set; set it: Account > Contact information")
    problems = []
    if not contact.full_name.strip():
        problems.append("no full name")
    digits = re.sub(r"\D", "", contact.phone_number)
    if not INTERNATIONAL_PHONE.match(contact.phone_number.strip()) or not 7 <= len(digits) <= 15:
        problems.append(f"phone number {contact.phone_number!r} is not in international format (+ and country code)")
    missing = [what for what, value in (("street", contact.address_line1), ("city", contact.city), ("country", contact.country_code)) if not value.strip()]
    if missing:
        problems.append(f"the address has no {', '.join(missing)}")
    if problems:
        fail(f"primary contact: {'; '.join(problems)}; complete it: Account > Contact information > Edit")
    account.passes_because(
        f"primary contact {contact.full_name}, {contact.phone_number}, {contact.address_line1}, {contact.city} {contact.country_code}"
    )


@control(
    id="alternate-contacts",
    title="Billing, operations and security alternate contacts are set",
    severity="medium",
    rationale="""AWS writes to the security contact about abuse and compromised credentials; if it is
        unset, the warning goes only to the root email address, which often nobody reads.""",
    remediation="""Set all three: Account > Alternate contacts, or aws account put-alternate-contact
        --alternate-contact-type BILLING|OPERATIONS|SECURITY ...""",
    passes_when="billing, operations and security alternate contacts are all set",
    facts=["account.alternate_contacts"],
    frameworks={
        "soc2": ["CC2.3", "CC7.4"],
        "iso27001": ["A.5.24", "A.5.23"],
        "cis-v3": ["1.2"],
        "cis-v5": ["1.2"],
        "cis-v6": ["2.2"],
        "cis-v7": ["2.3"],
        "securityhub": ["Account.1"],
    },
)
def test_alternate_contacts(account):
    gaps, found, missing = Gaps(), [], []
    for kind in CONTACT_TYPES:
        contact = account.attempt("account.alternate_contact", contact_type=kind)
        if isinstance(contact, Unreadable):
            gaps.add(f"the {kind.lower()} contact", contact.error)
        elif contact is None:
            missing.append(kind.lower())
        else:
            found.append(f"{kind.lower()} {contact['EmailAddress']}")
    if missing:
        fail(f"alternate contact not set: {', '.join(missing)}; set it: Account > Alternate contacts{gaps.note()}")
    if gaps:
        gaps.undecided("whether every alternate contact is set")
    account.passes_because("alternate contacts set: " + ", ".join(found))


@control(
    id="budget-alerts",
    title="A cost budget alerts at least one subscriber",
    severity="low",
    rationale="""A stolen root or admin credential is often used to mine cryptocurrency; a cost budget
        alert is frequently the first sign anyone sees.""",
    remediation="""Create a cost budget with an alert to an email address or SNS topic: Billing and Cost
        Management > Budgets > Create budget.""",
    passes_when="at least one cost budget has a notification with at least one subscriber",
    facts=["budgets.cost_budget_names", "budgets.cost_budgets"],
    frameworks={"soc2": ["CC7.2", "A1.1"], "iso27001": ["A.8.6", "A.8.16"]},
)
def test_budget_alerts(account):
    names = account.fact("budgets.cost_budget_names")
    gaps, gone, silent = Gaps(), [], []
    for name in names:
        alerts = account.attempt("budgets.alerts", budget=name)
        if isinstance(alerts, Unreadable):
            gaps.add(f"the alerts of cost budget {name}", alerts.error)
            continue
        if alerts is None:
            gone.append(name)
            continue
        for alert in alerts:
            if isinstance(alert, Unreadable):
                gaps.add(f"an alert of cost budget {name}", alert.error)
            elif alert is not None and alert.subscribers:
                account.passes_because(
                    f"cost budget {name} alerts at {alert.describe()} to {len(alert.subscribers)} subscriber(s){gaps.note()}"
                )
                return
        silent.append(name)
    if gaps:
        gaps.undecided("whether a cost budget alerts anyone")
    if not silent:
        vanished = f" ({', '.join(gone)} was deleted while being read)" if gone else ""
        fail(f"no cost budget exists{vanished}; create one with an alert: Billing > Budgets > Create budget")
    fail(f"cost budget(s) {', '.join(silent)} have no alert with a subscriber; add an alert with an email or SNS subscriber")
