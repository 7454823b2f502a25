# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The daemon as the querier role ships it: one zipapp (lookup multicast.igmp.querier_zipapp).

- its bytes depend only on the package's files: the same from another checkout (other mtimes,
  other order), run after run, so the role's copy changes nothing on a second run;
- it is a real zipapp: the #! line, the package and a top-level __main__.py, stored entries with
  fixed dates and permissions; the hosts' Pythons (3.9 and 3.13 where installed) run it;
- what the lookup refuses (no __main__.py, a file that is no module, a bad interpreter) is one
  clear error naming it, never a traceback;
- the rendered unit runs this file, with no PYTHONPATH.
"""

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
ROLE = os.path.join(REPO, "roles", "querier")
PACKAGE = os.path.join(REPO, "plugins", "module_utils", "igmp_querier")
#: What the role hands the lookup (vars/main.yml: _igmp_querier_source_files).
FILES = sorted(glob.glob(os.path.join(PACKAGE, "*.py")) + [os.path.join(ROLE, "files", "__main__.py")])


NAME = "multicast.igmp.querier_zipapp"


def plugin_module():
    """The lookup's module. Imported only when a test runs: it loads Ansible's controller side
    (ansible.errors, ansible.plugins), which the module tests collected beside it must not share."""
    from ansible_collections.multicast.igmp.plugins.lookup import querier_zipapp  # pylint: disable=import-outside-toplevel

    return querier_zipapp


def lookup(terms, **options):
    """The lookup's run() with its documented options, as Ansible's plugin loader sets it up."""
    from ansible import constants as C  # pylint: disable=import-outside-toplevel

    querier_zipapp = plugin_module()

    if not C.config.has_configuration_definition("lookup", NAME):
        C.config.initialize_plugin_configuration_definitions(
            "lookup", NAME, yaml.safe_load(querier_zipapp.DOCUMENTATION)["options"])
    plugin = querier_zipapp.LookupModule()
    plugin._load_name = NAME  # pylint: disable=protected-access
    return plugin.run(terms, variables={}, **options)


@pytest.fixture()
def built(tmp_path):
    return lookup(FILES, cache_dir=str(tmp_path / "cache"))[0]


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_the_same_files_give_the_same_bytes_from_another_checkout(built, tmp_path):
    other = tmp_path / "other-checkout"
    other.mkdir()
    copies = []
    for path in reversed(FILES):  # another order, other mtimes, another directory
        copy = str(other / os.path.basename(path))
        shutil.copyfile(path, copy)
        os.utime(copy, (1234567890, 1234567890))
        copies.append(copy)
    again = lookup(copies, cache_dir=str(tmp_path / "other-cache"))[0]
    assert again != built and sha256(again) == sha256(built)
    assert lookup(FILES, cache_dir=str(tmp_path / "cache")) == [built]  # built once, reused
    assert os.path.basename(built) == "igmp-querier"


def test_a_changed_file_or_interpreter_gives_another_file(built, tmp_path):
    changed = tmp_path / "changed"
    changed.mkdir()
    for path in FILES:
        shutil.copyfile(path, str(changed / os.path.basename(path)))
    with open(str(changed / "main.py"), "a") as handle:
        handle.write("\n# changed\n")
    other = lookup(sorted(glob.glob(str(changed / "*.py"))), cache_dir=str(tmp_path / "cache"))[0]
    assert sha256(other) != sha256(built) and os.path.dirname(other) != os.path.dirname(built)
    python39 = lookup(FILES, cache_dir=str(tmp_path / "cache"), interpreter="/usr/bin/python3.9")[0]
    with open(python39, "rb") as handle:
        assert handle.readline() == b"#!/usr/bin/python3.9\n"


def test_the_archive_is_a_deterministic_zipapp(built):
    with open(built, "rb") as handle:
        assert handle.readline() == b"#!/usr/bin/python3\n"
    assert os.stat(built).st_mode & 0o777 == 0o755
    with zipfile.ZipFile(built) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        assert names == ["__main__.py"] + sorted("igmp_querier/" + os.path.basename(p) for p in FILES)
        for info in infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
            assert info.compress_type == zipfile.ZIP_STORED, info.filename
            assert info.external_attr >> 16 == 0o100644, info.filename
        for path in FILES:
            with open(path, "rb") as handle:
                assert archive.read("igmp_querier/" + os.path.basename(path)) == handle.read()
        assert "observe.py" not in " ".join(names)  # controller-only helpers stay on the controller


def pythons():
    """This Python plus the hosts' 3.9 and 3.13 where this machine has them (pyenv or PATH)."""
    found = [sys.executable]
    for version in ("3.9", "3.13"):
        candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python%s" % (version, version))))
        candidates += [shutil.which("python" + version) or ""]
        found += [c for c in candidates if c and "/shims/" not in c][:1]
    return found


@pytest.mark.parametrize("python", pythons())
def test_the_hosts_pythons_run_it_as_the_daemon_and_the_status_command(built, python, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}  # no PYTHONPATH: everything comes from the file
    version = subprocess.run([python, built, "--version"], capture_output=True, text=True, env=env,
                             cwd=str(tmp_path), check=False, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("igmp-querier "), version.stderr
    status = subprocess.run([python, built, "status", "--state-dir", str(tmp_path / "none")], capture_output=True,
                            text=True, env=env, cwd=str(tmp_path), check=False, timeout=60)
    assert status.returncode == 3 and "no igmp-querier instance on this host" in status.stdout, status.stderr
    bad = subprocess.run([python, built, "--interface", "lo", "--query-interval", "0"], capture_output=True,
                         text=True, env=env, cwd=str(tmp_path), check=False, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "igmp-querier" in bad.stderr, bad.stderr
    assert os.listdir(str(tmp_path)) == ["cache"]  # no bytecode or anything else written


def test_it_runs_by_its_own_line_and_as_a_package_on_pythonpath(built, tmp_path):
    direct = subprocess.run([built, "--help"], capture_output=True, text=True, check=False, timeout=60)
    assert direct.returncode == 0 and "igmp-querier status [IFACE] [--json]" in direct.stdout
    module = subprocess.run(["/usr/bin/python3", "-m", "igmp_querier", "--version"], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": built}, check=False, timeout=60)
    assert module.returncode == 0 and module.stdout.startswith("igmp-querier "), module.stderr


@pytest.mark.parametrize("terms, options, named", [
    (FILES[:-1] if FILES[-1].endswith("__main__.py") else [f for f in FILES if not f.endswith("__main__.py")],
     {}, "__main__.py"),
    (FILES + [os.path.join(ROLE, "defaults", "main.yml")], {}, "main.yml"),
    (FILES + [os.path.join(PACKAGE, "missing.py")], {}, "missing.py"),
    (FILES + [os.path.join(ROLE, "files", "__main__.py")], {}, "two files are named __main__.py"),
    (FILES, {"interpreter": "python3"}, "interpreter"),
    (FILES, {"interpreter": "/usr/bin/python3 -E"}, "interpreter"),
    (FILES, {"interpreter": "/usr/bin/python3\n"}, "interpreter"),
    (FILES, {"package": "igmp-querier"}, "package"),
    ([42], {}, "42"),
])
def test_bad_input_is_one_clear_error(terms, options, named, tmp_path):
    from ansible.errors import AnsibleLookupError  # pylint: disable=import-outside-toplevel

    with pytest.raises(AnsibleLookupError) as raised:
        lookup(terms, cache_dir=str(tmp_path / "cache"), **options)
    message = str(raised.value)
    assert message.startswith("multicast.igmp.querier_zipapp: ") and named in message, message
    assert not glob.glob(str(tmp_path / "cache" / "*" / "igmp-querier"))


def test_the_role_ships_what_the_test_builds():
    variables = yaml.safe_load(open(os.path.join(ROLE, "vars", "main.yml")))
    assert "fileglob" in variables["_igmp_querier_source_files"] and "files/__main__.py" in \
        variables["_igmp_querier_source_files"]
    files_task = yaml.safe_load(open(os.path.join(ROLE, "tasks", "files.yml")))
    files = [task for task in files_task if "multicast.igmp.querier_files" in task][0]["multicast.igmp.querier_files"]
    assert files["files"].strip().startswith("{{ _igmp_querier_code_files")
    daemon = [entry for entry in variables["_igmp_querier_code_files"] if "local_src" in entry]
    assert len(daemon) == 1, daemon
    assert "multicast.igmp.querier_zipapp" in daemon[0]["local_src"] and "*_igmp_querier_source_files" in daemon[0]["local_src"]
    assert daemon[0]["path"] == "{{ _igmp_querier_daemon_path }}" and daemon[0]["mode"] == "0755"
    assert variables["_igmp_querier_daemon_path"] == "{{ igmp_querier_install_dir }}/igmp-querier"


def test_the_unit_runs_the_zipapp(tmp_path):
    with open(os.path.join(ROLE, "templates", "igmp-querier@.service.j2")) as handle:
        unit = handle.read()
    execstart = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
    assert execstart.startswith("{{ _igmp_querier_python }} {{ _igmp_querier_daemon_path }} --interface %I ")
    assert "PYTHONPATH" not in unit and " -m " not in execstart
