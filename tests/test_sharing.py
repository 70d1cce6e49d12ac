"""rootguard.distributed.sharing: two workers that need the same fact ask AWS for it once.

Each "worker" here is a fact store of its own with its own SharedFacts, as in two xdist
processes; they share only the lock folder and the pack, as those do.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from rootguard.accounts import Account
from rootguard.evidence.documents import write_fact
from rootguard.facts import FactContext, FactResult, FactStore
from rootguard.distributed.sharing import SharedFacts

ACCOUNT = Account(id="123456789012", name="hub")
ORGANIZATION = {"Organization": {"Id": "o-abc123", "MasterAccountId": "123456789012", "Arn": "arn:aws:organizations::123456789012:organization/o-abc123"}}


class FakeAWS:
    """Counts requests by action; DescribeOrganization takes a moment, so two workers overlap."""

    def __init__(self, organization: dict | None = ORGANIZATION):
        self.requests: Counter = Counter()
        self.organization = organization
        self.lock = threading.Lock()

    def session_for(self, account):
        return account.id

    def client(self, session, service, region):
        aws = self

        class Client:
            def get_caller_identity(self):
                aws.count("sts:GetCallerIdentity")
                return {"Account": session, "Arn": f"arn:aws:iam::{session}:role/audit", "UserId": "AROAEXAMPLE:rootguard"}

            def describe_organization(self):
                aws.count("organizations:DescribeOrganization")
                time.sleep(0.05)
                if aws.organization is None:
                    raise ClientError({"Error": {"Code": "AWSOrganizationsNotInUseException", "Message": "no"}}, "DescribeOrganization")
                return dict(aws.organization)

        return Client()

    def count(self, action):
        with self.lock:
            self.requests[action] += 1


def worker(aws: FakeAWS, pack: Path, locks: Path) -> FactStore:
    store = FactStore(ACCOUNT, aws, ("us-east-1",), "us-east-1")

    def publish(store, result):
        caller = store.known(store.key_for("sts.caller_identity", None, {}))
        return write_fact(pack, store.account, caller.value if caller else None, result)

    store.shared = SharedFacts(str(pack), str(locks), publish)
    return store


@pytest.fixture
def folders(tmp_path):
    (tmp_path / "pack").mkdir()
    (tmp_path / "locks").mkdir()
    return tmp_path / "pack", tmp_path / "locks"


@pytest.mark.parametrize("organization", [ORGANIZATION, None], ids=["in-an-organization", "in-none"])
def test_two_workers_ask_aws_once_and_read_the_same_fact(folders, organization):
    pack, locks = folders
    aws = FakeAWS(organization)
    stores = [worker(aws, pack, locks), worker(aws, pack, locks)]
    values, results = [None, None], [None, None]

    def judge(index):
        values[index] = stores[index].get("organizations.organization")
        results[index] = stores[index].result(stores[index].key_for("organizations.organization", None, {}))

    threads = [threading.Thread(target=judge, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert aws.requests == {"sts:GetCallerIdentity": 1, "organizations:DescribeOrganization": 1}
    assert values[0] == values[1]
    assert (values[0] is None) == (organization is None)
    # One of them fetched it and wrote the evidence; the other read that file back.
    fetched, replayed = sorted(results, key=lambda r: r.evidence is not None)
    assert fetched.evidence is None
    assert replayed.evidence == "evidence/123456789012/organizations.organization--us-east-1.json"
    assert [c.action for c in replayed.calls] == ["organizations:DescribeOrganization"]
    recorded = json.loads((pack / replayed.evidence).read_text())
    assert [c["action"] for c in recorded["calls"]] == ["organizations:DescribeOrganization"]


def test_evidence_left_in_the_pack_by_an_earlier_run_is_not_read(folders):
    pack, locks = folders
    earlier = FakeAWS({"Organization": {"Id": "o-earlier", "MasterAccountId": "999999999999"}})
    plain = FactStore(ACCOUNT, earlier, ("us-east-1",), "us-east-1")
    key = plain.key_for("organizations.organization", None, {})
    write_fact(pack, ACCOUNT, None, plain.result(key))  # the same file name this run would write

    aws = FakeAWS()
    organization = worker(aws, pack, locks).get("organizations.organization")
    assert organization.id == "o-abc123" and aws.requests["organizations:DescribeOrganization"] == 1


def test_a_published_file_that_cannot_be_read_is_fetched_again(folders):
    pack, locks = folders
    aws = FakeAWS()
    first = worker(aws, pack, locks)
    assert first.get("organizations.organization").id == "o-abc123"
    (pack / "evidence" / ACCOUNT.id / "organizations.organization--us-east-1.json").write_text("{ cut short")

    second = worker(aws, pack, locks)
    assert second.get("organizations.organization").id == "o-abc123"
    assert aws.requests["organizations:DescribeOrganization"] == 2


def test_a_recorded_error_is_read_back_as_the_same_error(folders):
    pack, locks = folders
    aws = FakeAWS({"Organization": "not a document"})
    first, second = worker(aws, pack, locks), worker(aws, pack, locks)
    key = first.key_for("organizations.organization", None, {})
    errors = [str(store.result(key).error) for store in (first, second)]
    assert errors[0] and errors[0] == errors[1]
    assert aws.requests["organizations:DescribeOrganization"] == 1


def lock_files(locks: Path) -> list[str]:
    return sorted(path.name for path in locks.iterdir())


@pytest.mark.parametrize(
    "own, hub, locked",
    [
        # The worker that judges the account alone asks for its facts: only the one read across accounts is locked.
        ({ACCOUNT.id}, "999999999999", ["sts.caller_identity"]),
        # Another worker's account, or the hub's (the organization's view, read by every worker): every fact.
        ({"210000000001"}, "999999999999", ["organizations.organization", "sts.caller_identity"]),
        ({ACCOUNT.id}, ACCOUNT.id, ["organizations.organization", "sts.caller_identity"]),
    ],
    ids=["own-account", "another-workers-account", "the-hubs-account"],
)
def test_a_fact_takes_a_lock_only_where_another_worker_may_ask_for_it(folders, own, hub, locked):
    pack, locks = folders
    aws = FakeAWS()
    store = worker(aws, pack, locks)
    store.shared.own, store.shared.hub = frozenset(own), hub
    assert store.get("organizations.organization").id == "o-abc123"
    assert lock_files(locks) == [f"{ACCOUNT.id}--{name}--us-east-1.json.lock" for name in locked]
    assert aws.requests == {"sts:GetCallerIdentity": 1, "organizations:DescribeOrganization": 1}


def test_a_fact_read_across_accounts_is_asked_once_by_its_owner_and_another_worker(folders):
    pack, locks = folders
    aws = FakeAWS()
    owner, reader = worker(aws, pack, locks), worker(aws, pack, locks)
    owner.shared.own, reader.shared.own = frozenset({ACCOUNT.id}), frozenset({"210000000001"})
    owner.shared.hub = reader.shared.hub = "999999999999"
    identities = [store.get("sts.caller_identity") for store in (owner, reader)]
    assert identities[0] == identities[1] and identities[0]["Account"] == ACCOUNT.id
    assert aws.requests == {"sts:GetCallerIdentity": 1}
    assert reader.result(reader.key_for("sts.caller_identity", None, {})).evidence == f"evidence/{ACCOUNT.id}/sts.caller_identity--us-east-1.json"


def test_another_accounts_fact_is_read_only_if_registered_as_read_across_accounts():
    aws = FakeAWS()
    member = FactStore(Account(id="210000000001", name="member"), aws, ("us-east-1",), "us-east-1")
    keeper = FactStore(ACCOUNT, aws, ("us-east-1",), "us-east-1")
    hub = FactStore(Account(id="999999999999", name="hub"), aws, ("us-east-1",), "us-east-1")
    member.hub_store = hub
    context = FactContext(member, FactResult(member.key_for("sts.caller_identity", None, {})), "us-east-1")
    with pytest.raises(RuntimeError, match="organizations.organization .* not registered with read_across_accounts"):
        context.fact_of(keeper, "organizations.organization")
    assert aws.requests == {}
    # The hub's store reads any fact for the others; another account's, those registered so.
    assert context.fact_of(hub, "organizations.organization").id == "o-abc123"
    assert context.fact_of(keeper, "sts.caller_identity")["Account"] == ACCOUNT.id
