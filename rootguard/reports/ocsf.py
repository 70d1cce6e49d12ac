"""ocsf-compliance-findings.jsonl: one OCSF 1.5.0 Compliance Finding (class 2003) per verdict, one per line.

Built with py-ocsf-models. Per verdict: the control as `compliance.control`, every
framework it maps to as `compliance.standards` (titles and versions) and
`compliance.requirements` (`<framework>:<id>`), the outcome as `compliance.status_id`
(Pass, Fail; Unknown for `error`, the suite could not tell; Other for `skipped`), the
account as the resource, the remediation, and as `evidences` every AWS API call the
verdict rests on, with the evidence file and its SHA-256.

A waived failure is compliance status Fail with finding status Suppressed. The finding
uid names the control, account and region, not the run, so a data lake or Security Hub
updates one finding per (control, account, region) from sweep to sweep; the event's
`metadata.uid` names this run's observation of it.
"""

from __future__ import annotations

from typing import BinaryIO

from rootguard.reports.exports import Export, PackData, framework_titles

SEVERITY = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}
COMPLIANCE_STATUS = {"passed": "Pass", "failed": "Fail", "waived": "Fail", "error": "Unknown", "skipped": "Other"}


def epoch_ms(moment) -> int:
    return int(moment.timestamp() * 1000)


class OcsfComplianceFindings(Export):
    name = "ocsf"
    filename = "ocsf-compliance-findings.jsonl"
    media_type = "application/x-ndjson"
    aside = True

    def stream(self, data: PackData, out: BinaryIO) -> None:
        for line in self.lines(data):
            out.write(line.encode("utf-8") + b"\n")

    def lines(self, data: PackData):
        from py_ocsf_models.events.findings.activity_id import ActivityID
        from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
        from py_ocsf_models.events.findings.compliance_finding_type_id import ComplianceFindingTypeID
        from py_ocsf_models.events.findings.severity_id import SeverityID
        from py_ocsf_models.events.findings.status_id import StatusID
        from py_ocsf_models.objects.api import API
        from py_ocsf_models.objects.compliance import Compliance
        from py_ocsf_models.objects.compliance_status import StatusID as ComplianceStatusID
        from py_ocsf_models.objects.evidence_artifacts import EvidenceArtifacts
        from py_ocsf_models.objects.finding_info import FindingInformation
        from py_ocsf_models.objects.metadata import Metadata
        from py_ocsf_models.objects.product import Product
        from py_ocsf_models.objects.remediation import Remediation
        from py_ocsf_models.objects.resource_details import ResourceDetails

        results = data.results
        titles = framework_titles(data.matrix)
        started = epoch_ms(data.started)
        product = Product(name="rootguard", vendor_name="rootguard", version=results.get("suite_version"))
        for entry in results["results"]:
            control = data.controls.get(entry["control"], {})
            region = entry["region"] or ""
            evidences = []
            for path in entry["evidence"]:
                for call in data.calls.get(path, []):
                    evidences.append(
                        EvidenceArtifacts(
                            name=path,
                            api=API(operation=call["action"]),
                            data={"file": path, "sha256": data.digests[path], "region": call["region"], **({"error": call["error"]} if call["error"] else {})},
                        )
                    )
            finding = ComplianceFinding(
                activity_id=ActivityID.Create,
                type_uid=ComplianceFindingTypeID.Create,
                time=started,
                severity_id=SeverityID[SEVERITY[entry["severity"]]],
                severity=SEVERITY[entry["severity"]],
                status_id=StatusID.Suppressed if entry["outcome"] == "waived" else StatusID.New,
                status_code=entry["outcome"].upper(),
                status_detail=entry["message"],
                message=entry["message"],
                metadata=Metadata(
                    product=product,
                    uid=data.uuid("ocsf", entry["control"], entry["account_id"], region),
                    event_code=entry["control"],
                    version="1.5.0",
                ),
                finding_info=FindingInformation(
                    uid=f"rootguard:{entry['control']}:{entry['account_id']}:{region or 'global'}",
                    title=entry.get("title") or control.get("title") or entry["control"],
                    desc=control.get("pass_criteria") or None,
                    created_time=started,
                    types=["Compliance"],
                    data_sources=["AWS API"],
                ),
                compliance=Compliance(
                    control=entry["control"],
                    standards=[titles.get(key, key) for key in entry["frameworks"]] or None,
                    requirements=[f"{key}:{requirement}" for key, ids in entry["frameworks"].items() for requirement in ids] or None,
                    status_id=ComplianceStatusID[COMPLIANCE_STATUS[entry["outcome"]]],
                    desc=control.get("rationale") or None,
                ),
                remediation=Remediation(desc=control["remediation"]) if control.get("remediation") else None,
                resources=[
                    ResourceDetails(
                        uid=entry["account_id"], name=entry["account_name"], type="AWS Account",
                        region=entry["region"], labels=[f"profile:{results['profile']}"],
                    )
                ],
                evidences=evidences or None,
                unmapped={"rootguard": {"outcome": entry["outcome"], "profile": results["profile"], "backend": results.get("backend") or "live"}},
            )
            yield finding.model_dump_json(exclude_none=True)
