"""Pipeline stages: names, placement options, job requests, and a real two-stage pipeline."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from iog_jupyter.core.cluster import PoolConfig
from iog_jupyter.core.errors import ValidationError
from iog_jupyter.core.jobs import LocalProcessBackend, validate_submission
from iog_jupyter.core.stages import Stage, stage
from tests.fixtures import REPO, ray_env


def test_names_are_checked_before_anything_reaches_ray():
    assert stage("train").namespace == "stage-train"
    assert stage("serve").namespace == "stage-serve"  # not Ray Serve's "serve"
    assert stage("train", namespace="exp-1").namespace == "exp-1"
    for bad in ("", "a/b", "-x", "x" * 65, "<img src=x>"):
        with pytest.raises(ValidationError, match="must be 1-64"):
            stage(bad)
    for reserved in ("SUPERVISOR_ACTOR_RAY_NAMESPACE", "serve", "iog_jupyter"):
        with pytest.raises(ValidationError, match="Ray's or iog's"):
            stage("s", namespace=reserved)
    with pytest.raises(ValidationError, match="Pool"):
        stage("s", pool="a b")


def test_without_a_pool_nothing_is_pinned():
    s = stage("eval")
    assert s.placement() == {}
    assert s.options(num_gpus=1) == {"num_gpus": 1}


def test_resource_pools_merge_with_the_tasks_own_resources():
    s = stage("train", pool="train")
    s._placement = {"entrypoint_resources": {"pool:train": 0.001}}
    assert s.options(num_gpus=1, resources={"accel": 1}) == {
        "num_gpus": 1,
        "resources": {"pool:train": 0.001, "accel": 1},
    }
    labelled = stage("serve", pool="gpu")
    labelled._placement = {"entrypoint_label_selector": {"ray.io/node-group": "gpu"}}
    assert labelled.options() == {"label_selector": {"ray.io/node-group": "gpu"}}


def test_job_requests_carry_the_stage_and_validate(tmp_path):
    s = stage("train", pool="train", namespace="exp")
    body = s.job_request(
        "python train.py",
        entrypoint_num_gpus=1,
        runtime_env={"env_vars": {"A": "1"}},
        metadata={"run": "7"},
    )
    assert body["pool"] == "train" and body["entrypoint_num_gpus"] == 1
    assert body["runtime_env"]["env_vars"] == {
        "A": "1",
        "IOG_STAGE": "train",
        "IOG_STAGE_NAMESPACE": "exp",
        "IOG_STAGE_POOL": "train",
    }
    assert body["metadata"] == {"run": "7", "stage": "train"}
    submission = validate_submission(body, "alice", [str(tmp_path)], None)
    assert submission.pool == "train"
    back = Stage.from_env(body["runtime_env"]["env_vars"])
    assert (back.name, back.namespace, back.pool) == ("train", "exp", "train")
    with pytest.raises(ValidationError, match="IOG_STAGE is not set"):
        Stage.from_env({})


def test_run_job_prints_the_log_and_returns_the_final_record(tmp_path, capsys):
    backend = LocalProcessBackend(str(tmp_path / "jobs"))  # no Ray: jobs run bare
    try:
        record = stage("eval").run_job("echo stage=$IOG_STAGE; exit 3", backend=backend)
        assert (record.status, record.exit_code, record.metadata["stage"]) == ("FAILED", 3, "eval")
        assert "stage=eval" in capsys.readouterr().out
        assert backend.get(stage("eval").submit_job("true", backend, owner="ana")).owner == "ana"
    finally:
        backend.close()


@pytest.mark.ray
def test_a_two_stage_pipeline_on_the_stand_in_pools(ray_head):
    """The test head carries pool:preprocess/train/serve resources, standing in for 3 pools."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests" / "drivers" / "pipeline_stages.py"), ray_head.address],
        env=ray_env(ray_head),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT ") :])
    assert out["prep_options"] == {"num_cpus": 0, "resources": {"pool:preprocess": 0.001}}
    assert out["prep"]["step"] == "prep" and out["train"]["step"] == "train"
    # One "model" per stage namespace; asking again gets the existing one.
    assert out["actors"] == ["v-train", "v-prep", "v-train"]
    assert out["lookup"] == "v-train"
    assert out["by_namespace"] == {"train-ns": "v-train", "stage-preprocess": "v-prep"}
    assert "no-such-pool" in out["missing_pool"] and "train" in out["missing_pool"]


@pytest.mark.ray
def test_a_stage_opens_its_jobs_backend_with_its_own_pool_config(ray_head, tmp_path, monkeypatch):
    """Pools named by ``team:<name>`` resources: the test head has none, so pool "train" has no
    node (by the default ``pool:`` prefix it has one, and the job would start)."""
    monkeypatch.chdir(tmp_path)
    train = Stage("train", pool="train", pool_config=PoolConfig(resource_prefix="team:"))
    with pytest.raises(ValidationError, match="No node of this cluster is in pool 'train'"):
        train.submit_job("true")
