"""The daemon's package as the querier role ships it (every igmp_querier/*.py plus the role's
__main__.py): standalone on a host, and nothing in it that the daemon and ``igmp-querier status``
do not import. Controller-only helpers (observe, the capture loop) live beside it."""

import glob
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PACKAGE = os.path.join(REPO, "plugins", "module_utils", "igmp_querier")
MAIN = os.path.join(REPO, "roles", "querier", "files", "__main__.py")


def host_copy(tmp_path):
    """The files the role copies (its _igmp_querier_source_files), as a host has them."""
    target = tmp_path / "lib" / "igmp_querier"
    target.mkdir(parents=True)
    for path in sorted(glob.glob(os.path.join(PACKAGE, "*.py"))) + [MAIN]:
        shutil.copy(path, str(target))
    return target


def run_python(tmp_path, code):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(tmp_path / "lib"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          env=env, cwd=str(tmp_path), check=False, timeout=60)


def test_every_shipped_module_is_imported_by_the_daemons_entry_point(tmp_path):
    target = host_copy(tmp_path)
    shipped = sorted(os.path.basename(p)[:-3] for p in glob.glob(str(target / "*.py")))
    proc = run_python(tmp_path, "import json, sys\n"
                                "import igmp_querier.main\n"
                                "print(json.dumps(sorted(n.split('.', 1)[1] for n in sys.modules\n"
                                "                        if n.startswith('igmp_querier.'))))\n")
    assert proc.returncode == 0, proc.stderr
    imported = set(json.loads(proc.stdout)) | {"__init__", "__main__", "main"}
    assert sorted(set(shipped) - imported) == [], "shipped to every host but never imported by main.py"
    assert "observe" not in shipped and "_systemd" in shipped


def test_the_host_copy_runs_without_ansible(tmp_path):
    host_copy(tmp_path)
    proc = run_python(tmp_path, "import runpy, sys\n"
                                "sys.modules['ansible'] = None\n"  # an import of ansible fails
                                "sys.modules['ansible_collections'] = None\n"
                                "sys.argv = ['igmp-querier', '--version']\n"
                                "runpy.run_module('igmp_querier', run_name='__main__')\n")
    assert proc.returncode == 0, proc.stderr
    assert "0.2.0" in proc.stdout + proc.stderr
    status = run_python(tmp_path, "import sys\n"
                                  "sys.modules['ansible'] = None\n"
                                  "from igmp_querier import main\n"
                                  "sys.exit(main.main(['status', '--state-dir', %r]))\n" % str(tmp_path / "none"))
    assert status.returncode == 3, status.stderr  # nothing to judge, and no traceback
    assert "no igmp-querier instance on this host" in status.stdout


def test_controller_helpers_live_beside_the_host_package():
    from ansible_collections.multicast.igmp.plugins.module_utils import observe
    assert os.path.dirname(os.path.realpath(observe.__file__)) == os.path.dirname(os.path.realpath(PACKAGE))
    assert callable(observe.listen_on) and callable(observe.receive_until)
