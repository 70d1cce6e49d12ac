"""oscal-assessment-results.json: the run as OSCAL 1.2.1 assessment results, made of compliance-trestle's models.

One result for the run. Each AWS account is an inventory item; each verdict an
observation on its account, whose relevant evidence points at back-matter resources,
one per evidence file with its SHA-256. Each framework requirement that a control of
the run maps to is a finding, `satisfied` only when every verdict of its mapped controls
passed (a skipped one, not applicable, neither helps nor hurts), and its description
says which controls it rests on: a requirement is met only as far as they test it.
Each waiver that waived a failure is a risk with status `deviation-approved`, its
justification, approver and expiry, and the findings it touches name it.

Requirement ids become OSCAL tokens `<framework>_<id>` (`cis-v7_2.5`, `soc2_CC6.1`):
tokens cannot start with a digit, as CIS ids do. Every uuid is a name-based uuid5 of the
sweep and the thing it names, so the same pack always gives the same document.

Every piece is a trestle model, validated as it is made and serialized by trestle; the
pieces are written one after another, in the order of trestle's models, so a thousand
accounts' observations are never in memory at once. The file is what trestle writes for
the whole document (compact JSON), which a test checks.
"""

from __future__ import annotations

import json
import re
from typing import BinaryIO

from rootguard.evidence.pack import sha256_file
from rootguard.profile.profile import Waiver
from rootguard.profile.waivers import covers
from rootguard.reports.context import banner_of
from rootguard.reports.exports import Export, PackData, framework_titles, parse_time

OSCAL_VERSION = "1.2.1"
NS = "https://github.com/rootguard/rootguard/ns/oscal"


def token(framework: str, requirement: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{framework}_{requirement}")


def requirement_state(outcomes: list[str]) -> tuple[str, str, str]:
    """(state, reason, remarks) of a requirement from its mapped verdicts' outcomes."""
    counts = {outcome: outcomes.count(outcome) for outcome in set(outcomes)}
    said = ", ".join(f"{counts[o]} {o}" for o in ("passed", "failed", "waived", "error", "skipped") if counts.get(o))
    if counts.get("failed") or counts.get("waived"):
        return "not-satisfied", "fail", said
    if counts.get("error"):
        return "not-satisfied", "other", f"{said}: the suite could not tell for every account"
    if counts.get("passed"):
        return "satisfied", "pass", said
    return "not-satisfied", "other", f"{said}: no mapped control applied"


def waivers_in_force(data: PackData) -> list[tuple[dict, Waiver]]:
    found = []
    for usage in data.results.get("waivers") or []:
        if usage["expired"] or not usage["waived"]:
            continue
        waiver = Waiver(
            control=usage["control"], accounts=tuple(usage["accounts"]), justification=usage.get("justification") or "",
            approved_by=usage["approved_by"], expires=parse_time(usage["expires"] + "T00:00:00+00:00").date(),
            account_pattern=usage.get("account_pattern"),
        )
        found.append((usage, waiver))
    return found


def json_of(model) -> bytes:
    return model.oscal_serialize_json_bytes(wrapped=False)


def write_list(out: BinaryIO, key: str, pieces, after: bool = True) -> None:
    """`,"key":[piece,...]` (without the comma when it is the object's first key), or nothing for no pieces."""
    first = True
    for piece in pieces:
        out.write(f'{"," if after else ""}"{key}":['.encode() if first else b",")
        out.write(json_of(piece))
        first = False
    if not first:
        out.write(b"]")


class OscalAssessmentResults(Export):
    name = "oscal"
    filename = "oscal-assessment-results.json"
    media_type = "application/oscal.assessment-results+json"
    aside = True

    def stream(self, data: PackData, out: BinaryIO) -> None:
        from trestle.oscal import assessment_results as ar
        from trestle.oscal import common

        self.ar, self.common, self.data = ar, common, data
        results = data.results
        self.tool = data.uuid("component", "rootguard")
        self.accounts = {a["account_id"]: data.uuid("account", a["account_id"]) for a in results["accounts"]}
        self.waivers = waivers_in_force(data)
        self.by_control: dict[str, list[dict]] = {}
        for entry in results["results"]:
            self.by_control.setdefault(entry["control"], []).append(entry)

        head = ar.AssessmentResults(uuid=data.uuid("assessment-results"), metadata=self.metadata(), import_ap=self.import_ap(), results=[self.result()])
        out.write(b'{"assessment-results":{')
        out.write(f'"uuid":{json.dumps(head.uuid)},"metadata":'.encode() + json_of(head.metadata))
        out.write(b',"import-ap":' + json_of(head.import_ap) + b',"results":[')
        result = json_of(head.results[0])
        out.write(result[:-1])  # the result's own fields; its lists follow, in the model's order
        write_list(out, "observations", self.observations())
        write_list(out, "risks", self.risks())
        write_list(out, "findings", self.findings())
        out.write(b'}],"back-matter":{')
        write_list(out, "resources", self.resources(), after=False)
        out.write(b"}}}\n")

    def prop(self, name: str, value) -> object:
        return self.common.Property(name=name, value=str(value), ns=NS)

    def metadata(self):
        results, common = self.data.results, self.common
        return common.Metadata(
            title=f"rootguard assessment results: profile {results['profile']}, {results['started_at']}",
            last_modified=self.data.finished,
            version=results.get("suite_version") or "unknown",
            oscal_version=common.OscalVersion(root=OSCAL_VERSION),
            props=[self.prop("backend", results.get("backend") or "live")],
        )

    def import_ap(self):
        return self.ar.ImportAp(
            href=f"#{self.data.uuid('resource', 'controls.json')}",
            remarks="rootguard writes no OSCAL assessment plan; this is controls.json, the pack's statement of each control's test procedure.",
        )

    def result(self):
        """The run's one result, without its observations, risks and findings (written after it, one by one)."""
        ar, common, data = self.ar, self.common, self.data
        results = data.results
        backend = results.get("backend") or "live"
        banner = banner_of(results)
        source = f"{banner}. " if banner else ""
        coverage = data.population["statement"] if data.population else (
            f"Every in-scope account of profile {results['profile']} was tested by every selected control, without sampling.")
        reviewed = [
            common.SelectControlById(control_id=token(key, row["id"]))
            for key, entry in data.matrix.items() for row in entry["requirements"] if self.mapped(row)
        ]
        return ar.Result(
            uuid=data.uuid("result"),
            title=f"rootguard sweep of profile {results['profile']}: {len(results['accounts'])} accounts",
            description=(
                f"{source}Backend {backend}. {coverage} {len(results['accounts'])} accounts judged, {len(data.controls)} controls, "
                f"{len(results['results'])} verdicts. population.json names every account of the scope and why it is in or out; "
                "controls.json states each control's test procedure and pass criteria."
            ),
            start=data.started,
            end=data.finished if results.get("finished_at") else None,
            props=[self.prop("backend", backend), self.prop("complete", "true" if results.get("complete") else "false")],
            local_definitions=ar.LocalDefinitions1(
                inventory_items=[
                    common.InventoryItem(
                        uuid=self.accounts[a["account_id"]],
                        description=f"AWS account {a['account_name']} ({a['account_id']})",
                        props=[self.prop("aws-account-id", a["account_id"]), self.prop("account-source", a.get("source") or "unknown")],
                    )
                    for a in results["accounts"]
                ] or None,
                assessment_assets=common.AssessmentAssets(
                    components=[
                        common.SystemComponent(
                            uuid=self.tool, type="software", title=f"rootguard {results.get('suite_version') or ''}".strip(),
                            description="rootguard: AWS root-account compliance suite (pytest), read-only AWS API calls",
                            status=common.Status(state="operational"),
                        )
                    ],
                    assessment_platforms=[
                        common.AssessmentPlatform(
                            uuid=data.uuid("platform"), title="rootguard", uses_components=[common.UsesComponent(component_uuid=self.tool)]
                        )
                    ],
                ),
            ),
            reviewed_controls=common.ReviewedControls(
                description="The framework requirements that the run's controls map to, as OSCAL tokens <framework>_<id>.",
                control_selections=[common.ControlSelections(include_controls=reviewed)] if reviewed
                else [common.ControlSelectionsAll(include_all=common.IncludeAll())],
            ),
        )

    def observation_uuid(self, entry: dict) -> str:
        return self.data.uuid("observation", entry["control"], entry["account_id"], entry["region"] or "")

    def observations(self):
        common, data = self.common, self.data
        for entry in data.results["results"]:
            where = f" in {entry['region']}" if entry["region"] else ""
            subject = self.accounts.get(entry["account_id"])
            yield common.Observation(
                uuid=self.observation_uuid(entry),
                title=f"{entry['control']} on {entry['account_name']} ({entry['account_id']}){where}: {entry['outcome']}",
                description=entry["message"] or entry["outcome"],
                props=[self.prop("control", entry["control"]), self.prop("outcome", entry["outcome"]), self.prop("severity", entry["severity"])],
                methods=["TEST"],
                types=["finding"] if entry["outcome"] in ("failed", "waived") else ["control-objective"],
                subjects=[common.SubjectReference(subject_uuid=subject, type="inventory-item")] if subject else None,
                relevant_evidence=[
                    common.RelevantEvidence(href=f"#{data.uuid('resource', path)}", description=f"AWS responses recorded in {path}")
                    for path in entry["evidence"] if path in data.digests
                ] or None,
                collected=data.started,
            )

    def risk_uuid(self, usage: dict) -> str:
        return self.data.uuid("risk", usage["control"], ",".join(usage["accounts"]), usage.get("account_pattern") or "", usage["expires"])

    def waived_by(self, waiver: Waiver) -> list[dict]:
        return [e for e in self.data.results["results"] if e["outcome"] == "waived" and covers(waiver, e["control"], e["account_id"])]

    def risks(self):
        common = self.common
        for usage, waiver in self.waivers:
            who = ", ".join(usage["accounts"]) or usage.get("account_pattern") or ""
            yield common.Risk(
                uuid=self.risk_uuid(usage),
                title=f"Waived: {usage['control']} on {who}",
                description=waiver.justification or "(no justification recorded)",
                statement=f"{usage['control']} fails on {who}; the failure is accepted until {usage['expires']}, approved by {usage['approved_by']}.",
                props=[self.prop("approved-by", usage["approved_by"]), self.prop("control", usage["control"])],
                status=common.RiskStatus(root="deviation-approved"),
                deadline=parse_time(usage["expires"] + "T23:59:59+00:00"),
                related_observations=[common.RelatedObservation(observation_uuid=self.observation_uuid(e)) for e in self.waived_by(waiver)] or None,
            )

    def mapped(self, row: dict) -> list[dict]:
        """The run's verdicts of the controls mapped to a requirement."""
        return [e for control in row["controls"] for e in self.by_control.get(control, [])]

    def findings(self):
        common, data = self.common, self.data
        titles = framework_titles(data.matrix)
        risk_of: dict[tuple, list[str]] = {}
        for usage, waiver in self.waivers:
            for e in self.waived_by(waiver):
                risk_of.setdefault((e["control"], e["account_id"]), []).append(self.risk_uuid(usage))
        for key, matrix_entry in data.matrix.items():
            for row in matrix_entry["requirements"]:
                mapped = self.mapped(row)
                if not mapped:
                    continue
                state, reason, remarks = requirement_state([e["outcome"] for e in mapped])
                related_risks = sorted({r for e in mapped for r in risk_of.get((e["control"], e["account_id"]), [])})
                yield common.Finding(
                    uuid=data.uuid("finding", key, row["id"]),
                    title=f"{titles.get(key, key)} {row['id']}: {row['title']}",
                    description=(
                        f"Judged by rootguard controls {', '.join(row['controls'])} in {len({e['account_id'] for e in mapped})} "
                        f"accounts. The requirement is met only as far as these controls test it."
                    ),
                    props=[self.prop("framework", key), self.prop("requirement", row["id"])],
                    origins=[common.Origin(actors=[common.OriginActor(type="tool", actor_uuid=self.tool)])],
                    target=common.FindingTarget(
                        type="objective-id", target_id=token(key, row["id"]), title=row["title"],
                        status=common.ObjectiveStatus(state=state, reason=reason, remarks=remarks),
                    ),
                    related_observations=[common.RelatedObservation(observation_uuid=self.observation_uuid(e)) for e in mapped],
                    related_risks=[common.AssociatedRisk(risk_uuid=r) for r in related_risks] or None,
                )

    def resource(self, name: str, title: str):
        """A file of the pack as a back-matter resource, with its SHA-256 where it is there."""
        common, path = self.common, self.data.pack / name
        digest = self.data.digests.get(name) or (sha256_file(path) if path.is_file() else None)
        return common.Resource(
            uuid=self.data.uuid("resource", name), title=title,
            rlinks=[common.Rlink(href=name, media_type="application/json", hashes=[common.Hash(algorithm="SHA-256", value=digest)] if digest else None)],
        )

    def resources(self):
        yield self.resource("controls.json", "How each control tests")
        yield self.resource("results.json", "Every verdict of the run")
        for path in self.data.digests:
            yield self.resource(path, f"AWS responses: {path}")
