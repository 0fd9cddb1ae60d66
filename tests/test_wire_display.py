"""What every surface shows for a job: its name and its command without program-made quoting."""

from __future__ import annotations

import shlex

import pytest

from iog_jupyter.core.wire import JobRecord
from iog_jupyter.core.wire.jobs import display_command


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["python", "-c", "print('hi')"], """python -c "print('hi')\""""),
        (["echo", "hi"], "echo hi"),
        (["python", "train.py", "--name", "my run"], 'python train.py --name "my run"'),
        (["python", "-c", 'print("a b")'], """python -c 'print("a b")'"""),
        (["sh", "-c", "echo $HOME"], "sh -c 'echo $HOME'"),
        (["echo", "a;b"], 'echo "a;b"'),
    ],
)
def test_a_command_made_by_shlex_join_reads_as_typed(argv: list[str], shown: str) -> None:
    entrypoint = shlex.join(argv)
    assert display_command(entrypoint) == shown
    assert "'\"'\"'" not in display_command(entrypoint)
    assert shlex.split(display_command(entrypoint)) == argv  # the same words, still


def test_shell_operators_stay_and_unsplittable_text_is_shown_as_it_is() -> None:
    assert display_command("echo hi && ls -l | head > out 2>&1") == (
        "echo hi && ls -l | head > out 2>&1"
    )
    assert display_command("echo 'unterminated") == "echo 'unterminated"


def test_a_jobs_name_is_its_metadata_name_else_its_id_on_the_wire() -> None:
    base = {"submission_id": "iog_1", "status": "RUNNING", "entrypoint": "echo 'hi'"}
    named = JobRecord(**base, metadata={"name": "train", "job_name": "other"})
    ray_named = JobRecord(**base, metadata={"job_name": "nightly"})
    plain = JobRecord(**base, metadata={"name": ""})
    assert [named.name, ray_named.name, plain.name] == ["train", "nightly", "iog_1"]
    wire = plain.model_dump(mode="json")
    assert wire["name"] == "iog_1" and wire["command"] == "echo hi"
    assert wire["entrypoint"] == "echo 'hi'"  # as submitted, beside its display form
    assert JobRecord.model_validate(wire).model_dump(mode="json") == wire


def test_a_session_is_called_by_what_it_is_and_rays_own_drivers_are_internal() -> None:
    from iog_jupyter.core.wire import SessionRecord

    base = {"session_id": "01000000", "driver_pid": 42, "driver_ip": "127.0.0.1"}
    notebook = SessionRecord(
        **base, kind="notebook", namespace="n1", notebook_path="work/train.ipynb"
    )
    kernel = SessionRecord(**base, kind="notebook", namespace="n1", kernel_id="abcdef123456")
    job = SessionRecord(**base, kind="job", namespace="n2", submission_id="iog_20261205_x")
    script = SessionRecord(**base, kind="script", namespace="n3")
    dashboard = SessionRecord(**base, kind="script", namespace="_ray_internal_dashboard")
    assert [s.label for s in (notebook, kernel, job, script)] == [
        "train.ipynb",
        "notebook (kernel abcdef12)",
        "job iog_20261205_x",
        "script (pid 42)",
    ]
    assert [s.internal for s in (notebook, job, script, dashboard)] == [False] * 3 + [True]
    wire = dashboard.model_dump(mode="json")
    assert wire["internal"] is True and wire["label"] == "Ray's own driver (dashboard)"


def test_a_demand_says_who_waits_in_words() -> None:
    from iog_jupyter.core.wire import ResourceDemand

    two = ResourceDemand(bundle={"GPU": 1}, count=2, kind="task_actor", infeasible=True, reason="")
    one = two.model_copy(update={"count": 1, "kind": "placement_group"})
    assert two.model_dump(mode="json")["waiting"] == "2 tasks, actors or job drivers"
    assert one.waiting == "1 placement group"
