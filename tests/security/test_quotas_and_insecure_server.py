"""Quotas (429) and the insecure-server refusal (403) through a real Jupyter server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures import api, server_config

pytestmark = pytest.mark.ray


def _config(tmp_path, server: dict[str, Any] | None = None, **iog: Any) -> dict:
    return server_config(
        server=server,
        refresh_interval_s=0.5,
        jobs_backend="local",
        jobs_state_dir=tmp_path / "iog_state",
        **iog,
    )


def _audit(tmp_path) -> list[dict[str, Any]]:
    with open(tmp_path / "iog_state" / "audit.log") as handle:
        return [json.loads(line) for line in handle]


class TestQuotas:
    @pytest.fixture
    def jp_server_config(self, ray_head, tmp_path):
        return _config(tmp_path, max_submits_per_minute=2, max_active_jobs_per_user=5)

    async def test_the_third_submission_in_a_minute_is_429(self, jp_fetch, tmp_path):
        for i in range(2):
            code, _ = await api(
                jp_fetch,
                "jobs",
                method="POST",
                body={"entrypoint": "true", "submission_id": f"q{i}"},
            )
            assert code == 201
        code, data = await api(
            jp_fetch, "jobs", method="POST", body={"entrypoint": "true", "submission_id": "q2"}
        )
        assert code == 429 and data["reason"] == "quota_exceeded"
        assert "limit is 2" in data["message"] and "Try again in" in data["message"]
        code, page = await api(jp_fetch, "jobs")
        assert sorted(j["submission_id"] for j in page["jobs"]) == ["q0", "q1"]
        refused = [r for r in _audit(tmp_path) if r["outcome"] == "refused"]
        assert refused and refused[-1]["target"] == "q2" and "429" in refused[-1]["detail"]


class TestActiveJobsQuota:
    @pytest.fixture
    def jp_server_config(self, ray_head, tmp_path):
        return _config(tmp_path, max_active_jobs_per_user=1)

    async def test_a_second_running_job_is_429_until_the_first_ends(self, jp_fetch):
        code, _ = await api(
            jp_fetch, "jobs", method="POST", body={"entrypoint": "sleep 30", "submission_id": "a0"}
        )
        assert code == 201
        code, data = await api(
            jp_fetch, "jobs", method="POST", body={"entrypoint": "true", "submission_id": "a1"}
        )
        assert code == 429 and "You have 1 jobs pending or running" in data["message"]
        code, _ = await api(jp_fetch, "jobs", "a0", "stop", method="POST")
        assert code == 200


class TestInsecureServer:
    @pytest.fixture
    def jp_server_config(self, ray_head, tmp_path):
        return _config(tmp_path, server={"disable_check_xsrf": True})

    async def test_changes_are_refused_reads_are_not(self, jp_fetch):
        code, data = await api(
            jp_fetch, "jobs", method="POST", body={"entrypoint": "true", "submission_id": "x0"}
        )
        assert code == 403 and data["reason"] == "insecure_server"
        assert "XSRF" in data["message"] and "allow_insecure" in data["message"]
        code, page = await api(jp_fetch, "jobs")
        assert code == 200 and page["jobs"] == []
        code, doctor = await api(jp_fetch, "doctor")
        checks = {c["id"]: c for c in doctor["checks"]}
        assert code == 200 and checks["jupyter_xsrf"]["status"] == "fail"
        assert doctor["status"] == "fail"


class TestInsecureServerAllowed:
    @pytest.fixture
    def jp_server_config(self, ray_head, tmp_path):
        return _config(tmp_path, server={"disable_check_xsrf": True}, allow_insecure=True)

    async def test_the_operator_can_accept_the_risk(self, jp_fetch):
        code, _ = await api(
            jp_fetch, "jobs", method="POST", body={"entrypoint": "true", "submission_id": "ok0"}
        )
        assert code == 201
