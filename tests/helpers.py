"""Helpers shared by the test suites (unit, netns, molecule) and the benchmarks.

Importable as ``tests.helpers`` wherever pytest runs (pytest.ini puts the checkout on the path)
and from the repository root (``python -m benchmarks.NAME``).
"""

import json
import os
import sys
import time


def run_module(main, capsys, **args):
    """A module's ``main()`` with these arguments, in this process; returns (exit code, result)."""
    # Imported here: the benchmarks import this file and need neither Ansible nor pytest.
    import contextlib
    from unittest import mock

    import pytest
    from ansible.module_utils import basic
    from ansible.module_utils.common import warnings as module_warnings

    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core before 2.19: the arguments AnsibleModule reads
        def patch_module_args(module_args):
            data = json.dumps({"ANSIBLE_MODULE_ARGS": module_args}).encode()
            return mock.patch.object(basic, "_ANSIBLE_ARGS", data)
    try:
        from ansible.module_utils import _internal
    except ImportError:
        _internal = None
    # 2.19+: once controller code is imported, module warnings go to the display instead.
    as_module = (mock.patch.object(_internal, "is_controller", False) if hasattr(_internal, "is_controller")
                 else contextlib.nullcontext())

    getattr(module_warnings, "_global_warnings", {}).clear()  # warnings of an earlier in-process run
    with patch_module_args(args), as_module:
        with pytest.raises(SystemExit) as exc:
            main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def warnings_of(result):
    """The warning texts of a result (plain strings, or ansible 2.19's structured summaries)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def wait_until(predicate, timeout, what="condition", interval=0.05, error=AssertionError):
    """Poll ``predicate`` until it returns something true and return that; raise ``error`` once
    ``timeout`` seconds have passed without."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise error("%s: not within %.1f s" % (what, timeout))
        time.sleep(interval)


def collections_root():
    """The ``sys.path`` entry that holds ``ansible_collections/multicast/igmp`` (tests/conftest.py
    puts it there): the PYTHONPATH or ANSIBLE_COLLECTIONS_PATH of a child process."""
    for entry in sys.path:
        if os.path.isdir(os.path.join(entry, "ansible_collections", "multicast", "igmp")):
            return entry
    raise RuntimeError("tests/conftest.py did not put the collection on sys.path")
