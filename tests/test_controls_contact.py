"""root-contact-details on seeded moto state: a full name, an international phone number and an address."""

import pytest

from tests.shared_runs import accounts, judged


def contact(name: str, account_id: str, *, full_name="Example Corp", phone="+1 206 555 0100", city="Springfield") -> str:
    return (
        f'- id: "{account_id}"\n  name: {name}\n  contact_information:\n'
        f'    full_name: "{full_name}"\n    address_line1: 1 Main Street\n    city: "{city}"\n'
        f'    postal_code: "62701"\n    country_code: US\n    phone_number: "{phone}"\n'
    )


CONTACTS = accounts(
    contact("complete", "210000000051"),
    contact("local-phone", "210000000052", phone="555-0100"),
    contact("too-short", "210000000053", phone="+1 555"),
    contact("blank-name", "210000000054", full_name=" "),
    contact("no-city", "210000000055", city=" "),
    '- {id: "210000000056", name: no-contact}\n',
)


@pytest.mark.parametrize(
    "account, outcome, says",
    [
        ("complete", "passed", "primary contact Example Corp, +1 206 555 0100, 1 Main Street, Springfield US"),
        ("local-phone", "failed", "primary contact: phone number '555-0100' is not in international format (+ and country code)"),
        ("too-short", "failed", "phone number '+1 555' is not in international format"),
        ("blank-name", "failed", "primary contact: no full name; complete it: Account > Contact information > Edit"),
        ("no-city", "failed", "the address has no city"),
        ("no-contact", "failed", "no primary contact information is set; set it: Account > Contact information"),
    ],
    ids=["complete", "no-country-code", "too-few-digits", "blank-name", "no-city", "not-set"],
)
def test_root_contact_details(judge, account, outcome, says):
    verdicts = judged(judge, CONTACTS, "root-contact-details")
    assert verdicts.outcome("root-contact-details", account) == outcome
    assert says in verdicts.message("root-contact-details", account)
