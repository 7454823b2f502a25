"""The built collection: what the tarball holds, and that it installs and works from an empty path.

scripts/test's build stage builds and installs the collection once and passes both in
MULTICAST_IGMP_TARBALL and MULTICAST_IGMP_INSTALLED; run alone (pytest tests/build), these
tests build and install it themselves into a temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Must be in the tarball: what users install it for.
REQUIRED = (
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "LICENSE",
    "meta/runtime.yml",
    "roles/querier/tasks/main.yml",
    "roles/querier/meta/argument_specs.yml",
    "roles/querier/defaults/main.yml",
    "plugins/modules/igmp_status.py",
    "plugins/modules/igmp_probe.py",
    "plugins/module_utils/igmp_querier/daemon.py",
    "playbooks/site.yml",
    "playbooks/status.yml",
    "playbooks/probe.yml",
    "playbooks/uninstall.yml",
    "CHANGELOG.md",
    "changelogs/changelog.yaml",
    "changelogs/config.yaml",
)
# Must not be in the tarball: what only the project's tests and CI need.
FORBIDDEN_PREFIXES = (
    ".ci/",
    ".config/",
    ".git/",
    ".github/",
    ".pytest_cache/",
    ".ansible/",
    "benchmarks/",
    "molecule/",
    "extensions/molecule/",
    "scripts/",
    "tests/unit/",
    "tests/netns/",
    "tests/build/",
    "tests/output/",
    "build/",
)
FORBIDDEN_NAMES = ("tests/conftest.py", "pytest.ini", ".gitignore", "ansible.cfg", "changelogs/.plugin-cache.yaml")
#: The release this tree builds: bumped with galaxy.yml at each release (CONTRIBUTING.md, Releases).
VERSION = "0.2.0"
#: Addresses that stand for "not known yet": a published collection must not point at them.
PLACEHOLDER_HOSTS = ("example.invalid", "example.com", "example.org", "example.net", "localhost")

needs_tools = pytest.mark.skipif(
    shutil.which("ansible-galaxy") is None, reason="ansible-galaxy is not on PATH (run in the project's virtualenv)"
)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> str:
    given = os.environ.get("MULTICAST_IGMP_TARBALL")
    if given:
        return given
    if shutil.which("ansible-galaxy") is None:
        pytest.skip("ansible-galaxy is not on PATH (run in the project's virtualenv)")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(out), REPO], check=True)
    (built,) = out.glob("multicast-igmp-*.tar.gz")
    return str(built)


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory) -> str:
    given = os.environ.get("MULTICAST_IGMP_INSTALLED")
    if given:
        return given
    path = tmp_path_factory.mktemp("collections")
    subprocess.run(["ansible-galaxy", "collection", "install", "--offline", "-p", str(path), tarball], check=True)
    return str(path)


def _members(tarball: str):
    with tarfile.open(tarball) as tar:
        return [m.name[2:] if m.name.startswith("./") else m.name for m in tar.getmembers()]


def _ansible(installed: str, *argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed, ANSIBLE_NOCOLOR="1")
    # Run outside the checkout so its ansible.cfg cannot point Ansible back at the sources.
    return subprocess.run(list(argv), env=env, cwd=os.path.dirname(installed.rstrip("/")) or "/",
                          capture_output=True, text=True, timeout=300, check=False)


def test_tarball_holds_the_collection(tarball):
    names = set(_members(tarball))
    missing = [path for path in REQUIRED if path not in names]
    assert not missing, "missing from %s: %s" % (os.path.basename(tarball), missing)


def test_tarball_leaves_out_tests_and_ci(tarball):
    leaked = sorted(
        name for name in _members(tarball)
        if name.startswith(FORBIDDEN_PREFIXES) or name in FORBIDDEN_NAMES
        or "__pycache__" in name.split("/") or name.endswith((".pyc", ".tar.gz"))
    )
    assert not leaked, "should not be in the tarball (galaxy.yml build_ignore): %s" % leaked


def test_manifest_matches_galaxy_yml(tarball):
    import yaml

    with open(os.path.join(REPO, "galaxy.yml")) as f:
        galaxy = yaml.safe_load(f)
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == (galaxy["namespace"], galaxy["name"], galaxy["version"])


def _manifest(tarball: str) -> dict:
    with tarfile.open(tarball) as tar:
        return json.load(tar.extractfile("MANIFEST.json"))["collection_info"]


def test_version_is_the_changelogs_latest_release(tarball):
    import yaml
    from packaging.version import Version

    with tarfile.open(tarball) as tar:
        releases = yaml.safe_load(tar.extractfile("changelogs/changelog.yaml"))["releases"]
        changelog = tar.extractfile("CHANGELOG.md").read().decode("utf-8")
    version = _manifest(tarball)["version"]
    assert version == max(releases, key=Version) == VERSION, (version, sorted(releases))
    # The release notes of this version are in the shipped CHANGELOG.md (antsibull-changelog's anchor).
    assert '<a id="v%s"></a>' % version.replace(".", "-") in changelog


def test_manifest_names_no_placeholder_address(tarball):
    info = _manifest(tarball)
    for key in ("repository", "documentation", "homepage", "issues"):
        value = info.get(key) or ""
        assert not any(host in value for host in PLACEHOLDER_HOSTS), "MANIFEST.json %s: %r" % (key, value)


@needs_tools
def test_installed_collection_is_listed(installed):
    done = _ansible(installed, "ansible-galaxy", "collection", "list", "-p", installed, "multicast.igmp")
    assert done.returncode == 0 and "multicast.igmp" in done.stdout, done.stdout + done.stderr


@needs_tools
@pytest.mark.parametrize("module", ["multicast.igmp.igmp_status", "multicast.igmp.igmp_probe"])
def test_installed_module_docs(installed, module):
    done = _ansible(installed, "ansible-doc", module)
    assert done.returncode == 0, done.stderr
    assert module.rsplit(".", 1)[1] in done.stdout


@needs_tools
def test_installed_role_documents_its_variables(installed):
    done = _ansible(installed, "ansible-doc", "-t", "role", "multicast.igmp.querier")
    assert done.returncode == 0, done.stderr
    for variable in ("igmp_querier_interfaces", "igmp_querier_query_interval", "igmp_querier_state"):
        assert variable in done.stdout, "%s is not in the role's argument spec" % variable


@needs_tools
@pytest.mark.parametrize("playbook", ["site", "status", "probe", "uninstall"])
def test_installed_playbooks_parse(installed, playbook):
    done = _ansible(installed, "ansible-playbook", "-i", "localhost,", "--syntax-check", "multicast.igmp." + playbook)
    assert done.returncode == 0, done.stdout + done.stderr
