"""The changelog: CHANGELOG.md is what antsibull-changelog generates from changelogs/, every
fragment passes its lint, and the version in galaxy.yml, the changelog and the daemon agree.

antsibull-changelog is pinned in .ci/requirements.txt; without it these tests skip, except under
CI=true in the virtualenv of those pins (its ansible-core), where a missing tool is a failure.
Other virtualenvs (an ansible-core matrix leg) may lack it.
"""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from packaging.version import Version

from ansible_collections.multicast.igmp.plugins.module_utils import igmp_querier

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHANGELOGS = os.path.join(REPO, "changelogs")
FRAGMENTS = os.path.join(CHANGELOGS, "fragments")
REGENERATE = "antsibull-changelog generate"

HAVE_TOOL = importlib.util.find_spec("antsibull_changelog") is not None


def pinned_virtualenv():
    """Whether this Python runs the ansible-core that .ci/requirements.txt pins (CI's main venv)."""
    from ansible.release import __version__ as running

    with open(os.path.join(REPO, ".ci", "requirements.txt"), encoding="utf-8") as handle:
        return "ansible-core==%s" % running in handle.read().split()


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def changelog_tool(cwd, *argv):
    if not HAVE_TOOL:
        if os.environ.get("CI") == "true" and pinned_virtualenv():
            pytest.fail("antsibull-changelog is missing: install .ci/requirements.txt (scripts/bootstrap)")
        pytest.skip("antsibull-changelog is not installed (see .ci/requirements.txt)")
    return subprocess.run([sys.executable, "-m", "antsibull_changelog", *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


def copy_of_the_changelog(dest):
    """What ``antsibull-changelog generate`` reads and writes, in a directory of its own."""
    shutil.copytree(CHANGELOGS, os.path.join(dest, "changelogs"),
                    ignore=shutil.ignore_patterns(".plugin-cache.yaml"))
    for name in ("galaxy.yml", "CHANGELOG.md"):
        shutil.copy(os.path.join(REPO, name), dest)
    return dest


def generated(dest):
    done = changelog_tool(dest, "generate")
    assert done.returncode == 0, done.stdout + done.stderr
    with open(os.path.join(dest, "CHANGELOG.md"), encoding="utf-8") as handle:
        return handle.read()


def test_changelog_md_is_generated_from_changelog_yaml(tmp_path):
    with open(os.path.join(REPO, "CHANGELOG.md"), encoding="utf-8") as handle:
        committed = handle.read()
    assert generated(copy_of_the_changelog(str(tmp_path))) == committed, (
        "CHANGELOG.md is not what antsibull-changelog writes from changelogs/changelog.yaml: "
        "run `%s` and commit the result (never edit CHANGELOG.md by hand)" % REGENERATE)


def test_an_entry_added_to_changelog_yaml_changes_the_generated_file(tmp_path):
    # The comparison above can fail: the generated text follows changelog.yaml.
    dest = copy_of_the_changelog(str(tmp_path))
    path = os.path.join(dest, "changelogs", "changelog.yaml")
    data = load(path)
    latest = data["releases"][max(data["releases"], key=Version)]
    latest["changes"].setdefault("bugfixes", []).append("A fix only this test knows about.")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)
    assert "A fix only this test knows about" in generated(dest)


def test_changelog_yaml_passes_the_strict_lint():
    done = changelog_tool(REPO, "lint-changelog-yaml", "--strict", os.path.join(CHANGELOGS, "changelog.yaml"))
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_every_fragment_passes_the_lint():
    # The same check as ansible-test sanity's changelog test, for fragments not yet released.
    done = changelog_tool(REPO, "lint")
    assert done.returncode == 0 and not done.stdout.strip(), (
        "changelogs/fragments: %s(see CONTRIBUTING.md, Changelog fragments)" % (done.stdout + done.stderr))


def test_fragments_are_yaml_files_with_known_sections():
    config = load(os.path.join(CHANGELOGS, "config.yaml"))
    known = {name for name, _title in config["sections"]} | {config["prelude_section_name"], "trivial"}
    for name in sorted(os.listdir(FRAGMENTS)):
        if name == ".keep":
            continue
        assert name.endswith(".yml") and not name.startswith("."), "changelogs/fragments/%s: name it <topic>.yml" % name
        content = load(os.path.join(FRAGMENTS, name))
        assert isinstance(content, dict) and set(content) <= known, (
            "changelogs/fragments/%s: sections %s, known: %s" % (name, sorted(content or ()), sorted(known)))


@pytest.mark.parametrize("text, problem", [
    ("bugfixes:\n  - ``quoted`` must be, a plain YAML scalar cannot start with a backquote.\n", "yaml parsing error"),
    ("fixes:\n  - An unknown section.\n", "invalid section: fixes"),
])
def test_the_lint_refuses_a_bad_fragment(tmp_path, text, problem):
    dest = copy_of_the_changelog(str(tmp_path))
    with open(os.path.join(dest, "changelogs", "fragments", "bad.yml"), "w", encoding="utf-8") as handle:
        handle.write(text)
    done = changelog_tool(dest, "lint")
    assert done.returncode != 0 and "bad.yml" in done.stdout and problem in done.stdout.lower(), done.stdout


def test_galaxy_yml_the_changelog_and_the_daemon_name_the_same_version():
    galaxy = load(os.path.join(REPO, "galaxy.yml"))
    releases = load(os.path.join(CHANGELOGS, "changelog.yaml"))["releases"]
    latest = max(releases, key=Version)
    assert galaxy["version"] == latest == igmp_querier.__version__, (
        "galaxy.yml %s, latest release in changelogs/changelog.yaml %s, igmp_querier.__version__ %s"
        % (galaxy["version"], latest, igmp_querier.__version__))
    assert releases[latest]["changes"].get("release_summary"), "release %s has no release_summary" % latest


def test_galaxy_yml_names_no_placeholder_address():
    galaxy = load(os.path.join(REPO, "galaxy.yml"))
    for key in ("repository", "documentation", "homepage", "issues"):
        value = galaxy.get(key)
        assert value is None or (value.startswith("https://") and "example." not in value and "invalid" not in value), (
            "galaxy.yml %s: %r is a placeholder; omit the key until the address exists" % (key, value))
