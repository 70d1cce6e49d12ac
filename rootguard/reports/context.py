"""The run's context, as an auditor asks for it: where the data came from, who ran it, with what, under which profile.

results.json carries it whole (`context`, beside the DESIGN.md fields `backend`,
`endpoint_url`, `operator`); every report shows the banner when the data did not come
from AWS, and the pack keeps a redacted copy of the profile with the SHA-256 of the file
it was read from.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

from rootguard import __version__, resources

PROFILE_COPY = "profile.yaml"
# A profile holds no credentials; an external id is the one value shared with the accounts' trust policies.
SECRET_LINE = re.compile(r"^(\s*(?:-\s+)?external_id\s*:\s*)(\S.*?)\s*$")


def data_source(sweep) -> str | None:
    """Why the data did not come from AWS, in a sentence for a banner; None when it did."""
    if sweep.backend == "replay":
        return f"REPLAY: no AWS call was made; the verdicts were judged again on the responses recorded in {sweep.replay_of['pack']}"
    if sweep.backend == "moto":
        return "MOCK DATA: these accounts are moto's in-process mock of AWS, seeded from a scenario file; nothing here describes a real AWS account"
    endpoint = sweep.profile.endpoint_url
    if endpoint:
        return f"NOT AWS: every call went to {endpoint} (the profile's endpoint_url), not to AWS's endpoints"
    return None


def ci_job(environ=None) -> dict | None:
    """The CI job the run is in (GitHub Actions, GitLab CI, AWS CodeBuild), from the variables each sets."""
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS") == "true":
        server, repository, run = env.get("GITHUB_SERVER_URL", "https://github.com"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
        return {
            "system": "GitHub Actions",
            "url": f"{server}/{repository}/actions/runs/{run}" + (f"/attempts/{env['GITHUB_RUN_ATTEMPT']}" if env.get("GITHUB_RUN_ATTEMPT") else "")
            if repository and run else None,
            "job": env.get("GITHUB_JOB"),
            "workflow": env.get("GITHUB_WORKFLOW"),
            "triggered_by": env.get("GITHUB_ACTOR"),
            "commit": env.get("GITHUB_SHA"),
        }
    if env.get("GITLAB_CI") == "true":
        return {
            "system": "GitLab CI",
            "url": env.get("CI_JOB_URL"),
            "job": env.get("CI_JOB_NAME"),
            "workflow": env.get("CI_PIPELINE_URL") or env.get("CI_PIPELINE_ID"),
            "triggered_by": env.get("GITLAB_USER_LOGIN"),
            "commit": env.get("CI_COMMIT_SHA"),
        }
    if env.get("CODEBUILD_BUILD_ID"):
        return {
            "system": "AWS CodeBuild",
            "url": env.get("CODEBUILD_PUBLIC_BUILD_URL") or env.get("CODEBUILD_BUILD_ARN"),
            "job": env.get("CODEBUILD_BUILD_ID"),
            "workflow": env.get("CODEBUILD_BATCH_BUILD_IDENTIFIER"),
            "triggered_by": env.get("CODEBUILD_INITIATOR"),
            "commit": env.get("CODEBUILD_RESOLVED_SOURCE_VERSION"),
        }
    return None


@functools.lru_cache(maxsize=1)
def suite_source() -> dict:
    """The suite's version and the source commit it runs from: a git checkout's HEAD, or what pip recorded of a VCS install."""
    home = resources.home()
    source: dict = {"version": __version__, "commit": None, "modified": None, "from": "installed package" if resources.installed() else "checkout"}
    if (home / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(home), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
            status = subprocess.run(["git", "-C", str(home), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return source
        if commit.returncode == 0:
            source["commit"] = commit.stdout.strip()
            # Changed tracked files: the run's code is not exactly that commit.
            source["modified"] = bool(status.stdout.strip()) if status.returncode == 0 else None
        return source
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        direct = distribution("rootguard").read_text("direct_url.json")
    except (ImportError, PackageNotFoundError, OSError):
        direct = None
    if direct:
        try:
            source["commit"] = (json.loads(direct).get("vcs_info") or {}).get("commit_id")
        except ValueError:
            pass
    return source


def redacted_profile(text: str) -> str:
    """The profile as written, but for the external ids: the copy an auditor reads in the pack."""
    return "".join(
        SECRET_LINE.sub(lambda m: f"{m.group(1)}\"(redacted)\"", line.rstrip("\n")) + ("\n" if line.endswith("\n") else "")
        for line in text.splitlines(keepends=True)
    )


def profile_record(path: str | None) -> dict:
    """The profile file's SHA-256 (of its bytes, as read) and its text redacted; None for either when unreadable."""
    if not path or not os.path.isfile(path):
        return {"path": path, "sha256": None, "text": None}
    data = Path(path).read_bytes()
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "text": redacted_profile(data.decode("utf-8", "replace"))}


def run_context(sweep, ending, profile: dict, source: dict, ci: dict | None) -> dict:
    """results.json's `context`: everything about the run an auditor's workpaper states besides the verdicts."""
    started, finished = sweep.started_at, ending.finished_at
    decision = ending.decision
    return {
        "data_source": data_source(sweep) or "AWS",
        "backend": sweep.backend,
        "endpoint_url": sweep.profile.endpoint_url,
        "operator": {"hub_identity": (sweep.caller or {}).get("Arn"), "ci_job": ci},
        "suite": source,
        "profile": {"name": sweep.profile.name, "file": profile["path"], "sha256": profile["sha256"],
                    "copy": PROFILE_COPY if profile["text"] is not None else None},
        "started_at": sweep.started_text,
        "finished_at": ending.finished_text,
        "duration_seconds": round((finished - started).total_seconds(), 1) if started and finished else None,
        "complete": ending.complete,
        "regions": list(sweep.profile.regions) if not sweep.profile.all_regions else "all enabled regions",
        "home_region": sweep.profile.home_region,
        "thresholds": dict(sweep.profile.params),
        "gate": {"min_severity": sweep.profile.min_severity, "exit_code": decision.code, "blocking": len(decision.blocking)},
        "frameworks_selected": list(sweep.frameworks_selected),
        "shard": sweep.shard,
    }


def banner_of(results: dict) -> str | None:
    """The banner a report of this results.json shows, None when its data came from AWS (packs of any age)."""
    context = results.get("context")
    if context:
        return None if context.get("data_source") == "AWS" else context["data_source"]
    backend = results.get("backend") or "live"
    return None if backend == "live" else f"NOT FROM AWS: backend {backend}"
