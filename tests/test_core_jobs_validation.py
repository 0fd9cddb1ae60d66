"""Submit validation and package uploads: every refusal, with the message a person sees."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import pytest

from iog_jupyter.core.errors import ValidationError
from iog_jupyter.core.jobs import OWNER_KEY, POOL_KEY, PackageStore, validate_submission
from iog_jupyter.core.jobs.validation import redact_runtime_env


@pytest.fixture
def store(tmp_path):
    return PackageStore(tmp_path / "packages")


def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buf.getvalue()


def _check(body, roots=("/nonexistent",), store=None):
    return validate_submission(body, "alice", list(roots), store)


def test_valid_submission_sets_owner_pool_and_id():
    sub = _check({"entrypoint": "python -c 'print(1)'", "pool": "train", "metadata": {"a": "b"}})
    assert sub.submission_id.startswith("iog_")
    assert sub.metadata == {"a": "b", OWNER_KEY: "alice", POOL_KEY: "train"}
    assert sub.pool == "train"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "must be a JSON object"),
        ({"entrypoint": "x", "bogus": 1}, "Unknown field(s): bogus"),
        ({}, "entrypoint is required"),
        ({"entrypoint": 123}, "entrypoint must be a string, not 123"),  # there, of a wrong type
        ({"entrypoint": "  "}, "entrypoint is required"),
        ({"entrypoint": "x" * 10241}, "longer than 10 KiB"),
        ({"entrypoint": "x", "submission_id": "a/b"}, "submission_id must be"),
        ({"entrypoint": "x", "submission_id": "_a"}, "submission_id must be"),
        ({"entrypoint": "x", "submission_id": "a" * 65}, "submission_id must be"),
        ({"entrypoint": "x", "metadata": {"a": 1}}, "metadata['a'] must be a string, not 1"),
        ({"entrypoint": "x", "metadata": {"iog.owner": "mallory"}}, "reserved"),
        ({"entrypoint": "x", "metadata": {f"k{i}": "v" for i in range(33)}}, "at most 32"),
        (
            {"entrypoint": "x", "metadata": {"k" * 129: "v"}},
            "must be at most 128 characters, not 129",
        ),
        ({"entrypoint": "x", "metadata": {"k": "v" * 1025}}, "longer than 1024 bytes"),
        (
            {"entrypoint": "x", "metadata": {f"k{i}": "v" * 1000 for i in range(17)}},
            "bytes in all",
        ),
        ({"entrypoint": "x", "entrypoint_num_cpus": -1}, "from 0 to 65536, not -1"),
        ({"entrypoint": "x", "entrypoint_num_cpus": float("nan")}, "a finite number, not nan"),
        ({"entrypoint": "x", "entrypoint_num_gpus": True}, "must be a number, not True"),
        ({"entrypoint": "x", "entrypoint_num_gpus": 2000}, "from 0 to 1024, not 2000"),
        (
            {"entrypoint": "x", "entrypoint_memory": 1.5},
            "entrypoint_memory must be an integer, not 1.5",
        ),
        ({"entrypoint": "x", "entrypoint_resources": {"node:1.2.3.4": 1}}, "'node:' resources"),
        ({"entrypoint": "x", "entrypoint_resources": {"GPU": 1}}, "use entrypoint_num_cpus"),
        ({"entrypoint": "x", "entrypoint_resources": {"r": float("inf")}}, "finite"),
        ({"entrypoint": "x", "pool": "a/b"}, "pool must be 1-64 letters"),
        ({"entrypoint": "x", "runtime_env": []}, "runtime_env must be an object"),
        ({"entrypoint": "x", "runtime_env": {"container": {}}}, "container images"),
        ({"entrypoint": "x", "runtime_env": {"image_uri": "x"}}, "container images"),
        ({"entrypoint": "x", "runtime_env": {"py_executable": "x"}}, "custom Python executable"),
        ({"entrypoint": "x", "runtime_env": {"worker_process_setup_hook": "m.f"}}, "setup hooks"),
        ({"entrypoint": "x", "runtime_env": {"conda": "env"}}, "conda environments"),
        ({"entrypoint": "x", "runtime_env": {"nsight": "default"}}, "is not allowed"),
        ({"entrypoint": "x", "runtime_env": {"env_vars": {"A": 1}}}, "strings to strings"),
        ({"entrypoint": "x", "runtime_env": {"env_vars": {"1A": "v"}}}, "not a valid variable"),
        ({"entrypoint": "x", "runtime_env": {"env_vars": {"RAY_AUTH_TOKEN": "v"}}}, "may not set"),
        ({"entrypoint": "x", "runtime_env": {"pip": ["--index-url=http://x"]}}, "not options"),
        ({"entrypoint": "x", "runtime_env": {"pip": ["git+https://x/y"]}}, "not options"),
        ({"entrypoint": "x", "runtime_env": {"uv": "numpy"}}, "list of strings"),
        ({"entrypoint": "x", "runtime_env": {"config": {"x": 1}}}, "accepts only"),
        ({"entrypoint": "x", "runtime_env": {"working_dir": "file:///etc"}}, "file:// URIs"),
        ({"entrypoint": "x", "runtime_env": {"working_dir": "https://e.com/a.zip"}}, "https://"),
        ({"entrypoint": "x", "runtime_env": {"working_dir": "s3://b/k.zip"}}, "s3:// URIs"),
        ({"entrypoint": "x", "runtime_env": {"working_dir": "gcs://_ray_pkg_ab.zip"}}, "gcs://"),
        ({"entrypoint": "x", "runtime_env": {"working_dir": "rel/dir"}}, "absolute directory"),
        ({"entrypoint": "x", "runtime_env": {"working_dir": "/etc"}}, "outside the directories"),
        ({"entrypoint": "x", "runtime_env": {"py_modules": ["/etc"]}}, "outside the directories"),
        (
            {"entrypoint": "x", "runtime_env": {"working_dir": "iog-package://" + "0" * 64}},
            "package uploads are not enabled",
        ),
    ],
)
def test_refusals(body, message):
    with pytest.raises(ValidationError) as info:
        _check(body)
    assert message in info.value.message


def test_working_dir_under_root_and_symlink_escape(tmp_path):
    inside = tmp_path / "proj"
    inside.mkdir()
    (tmp_path / "escape").symlink_to("/etc")
    sub = _check({"entrypoint": "x", "runtime_env": {"working_dir": str(inside)}}, [tmp_path])
    assert sub.runtime_env["working_dir"] == str(inside.resolve())
    with pytest.raises(ValidationError, match="outside the directories"):
        _check(
            {"entrypoint": "x", "runtime_env": {"working_dir": str(tmp_path / "escape")}},
            [tmp_path],
        )
    with pytest.raises(ValidationError, match="not an existing directory"):
        _check(
            {"entrypoint": "x", "runtime_env": {"working_dir": str(tmp_path / "nope")}}, [tmp_path]
        )


def test_package_roundtrip_and_foreign_uri(store):
    uri = store.store_zip(_zip([("main.py", b"print(1)\n"), ("pkg/__init__.py", b"")]))
    assert uri.startswith("iog-package://")
    assert (
        store.store_zip(io.BytesIO(_zip([("main.py", b"print(1)\n"), ("pkg/__init__.py", b"")])))
        == uri
    )
    sub = _check({"entrypoint": "x", "runtime_env": {"working_dir": uri}}, store=store)
    assert open(sub.runtime_env["working_dir"] + "/main.py").read() == "print(1)\n"
    with pytest.raises(ValidationError, match="not a package uploaded to this server"):
        _check(
            {"entrypoint": "x", "runtime_env": {"working_dir": "iog-package://" + "1" * 64}},
            store=store,
        )


def _info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info


@pytest.mark.parametrize(
    ("entries", "kwargs", "message"),
    [
        ([("../evil.py", b"x")], {}, "outside the package"),
        ([("a/../../evil.py", b"x")], {}, "outside the package"),
        ([("/etc/evil", b"x")], {}, "absolute path"),
        ([("a\\..\\b", b"x")], {}, "backslashes"),
        ([(_info("link", stat.S_IFLNK | 0o777), b"/etc/passwd")], {}, "symbolic link"),
        ([(_info("suid", stat.S_IFREG | stat.S_ISUID | 0o755), b"x")], {}, "setuid"),
        ([(_info("sgid", stat.S_IFREG | stat.S_ISGID | 0o755), b"x")], {}, "setuid or setgid"),
        ([(f"f{i}", b"") for i in range(11)], {"max_entries": 10}, "at most 10 are accepted"),
        ([("bomb", b"\0" * 2_000_000)], {"max_expanded_bytes": 1_000_000}, "expands to"),
        ([("big", os.urandom(20_000))], {"max_bytes": 10_000}, "larger than 10000 bytes"),
    ],
)
def test_zip_refusals_keep_nothing(store, entries, kwargs, message):
    with pytest.raises(ValidationError) as info:
        store.store_zip(_zip(entries), **kwargs)
    assert message in info.value.message
    assert [p.name for p in store.root.iterdir()] == []


def test_not_a_zip(store):
    with pytest.raises(ValidationError, match="not a valid zip"):
        store.store_zip(b"hello")


def test_redaction():
    env = {"env_vars": {"SECRET": "hunter2"}, "pip": ["numpy"]}
    assert redact_runtime_env(env) == {"env_vars": {"SECRET": "<redacted>"}, "pip": ["numpy"]}
    assert env["env_vars"]["SECRET"] == "hunter2"  # the input is not changed
