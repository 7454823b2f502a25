"""tests/requirements.yml declares exactly the collections the tests use (modules in task
files, connections, callbacks; ansible.builtin names that redirect elsewhere count as their
target), and the installed copies match the declared versions and this ansible-core."""

import glob
import json
import os
import re
import sys

import ansible
import yaml
from ansible.release import __version__ as ansible_version
from packaging.specifiers import SpecifierSet

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FQCN = re.compile(r"^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$")
#: Settings whose value names a plugin (connection, callbacks), as YAML keys or env names.
PLUGIN_SETTINGS = ("ansible_connection", "connection", "stdout_callback", "callbacks_enabled",
                   "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_CALLBACKS_ENABLED", "ANSIBLE_CALLBACK_WHITELIST")
PY_SETTING = re.compile(r"(%s)\s*[=:]\s*[\"']([^\"']+)[\"']" % "|".join(PLUGIN_SETTINGS))
THIS = "multicast.igmp"


def _builtin_redirects():
    path = os.path.join(os.path.dirname(ansible.__file__), "config", "ansible_builtin_runtime.yml")
    with open(path) as handle:
        routing = yaml.safe_load(handle)["plugin_routing"]
    return {name: entry["redirect"] for kind in routing.values() for name, entry in kind.items()
            if isinstance(entry, dict) and "redirect" in entry}


REDIRECTS = _builtin_redirects()


def _collection_of(name):
    name = name.strip()
    match = FQCN.match(name)
    if not match:
        return None
    if name.startswith("ansible.builtin."):
        target = REDIRECTS.get(name[len("ansible.builtin."):])
        return _collection_of(target) if target else None
    collection = "%s.%s" % match.groups()[:2]
    return None if collection == THIS else collection


def _yaml_names(node, parent_key=None):
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield key
                if key in PLUGIN_SETTINGS and isinstance(value, str):
                    yield from value.split(",")
            yield from _yaml_names(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _yaml_names(item, parent_key)


def used_collections():
    used = {}
    yml = [p for pattern in ("extensions/**/*.yml", ".config/molecule/*.yml", "playbooks/*.yml", "tests/**/*.yml")
           for p in glob.glob(os.path.join(REPO, pattern), recursive=True)]
    for path in yml:
        if os.path.samefile(path, os.path.join(REPO, "tests", "requirements.yml")):
            continue
        with open(path) as handle:
            for document in yaml.safe_load_all(handle):
                for name in _yaml_names(document):
                    collection = _collection_of(name)
                    if collection:
                        used.setdefault(collection, set()).add(os.path.relpath(path, REPO))
    for path in glob.glob(os.path.join(REPO, "**", "*.py"), recursive=True):
        if "/build/" in path:
            continue
        with open(path) as handle:
            for _setting, value in PY_SETTING.findall(handle.read()):
                for name in value.split(","):
                    collection = _collection_of(name)
                    if collection:
                        used.setdefault(collection, set()).add(os.path.relpath(path, REPO))
    return used


def declared():
    with open(os.path.join(REPO, "tests", "requirements.yml")) as handle:
        return {entry["name"]: entry.get("version", "*") for entry in yaml.safe_load(handle)["collections"]}


def installed(collection):
    """(path, MANIFEST collection_info, meta/runtime.yml) of the copy Ansible would find first."""
    namespace, name = collection.split(".")
    roots = [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
    roots += [os.path.expanduser("~/.ansible/collections"), "/usr/share/ansible/collections"] + sys.path
    for root in roots:
        base = os.path.join(root, "ansible_collections", namespace, name)
        if os.path.isfile(os.path.join(base, "MANIFEST.json")):
            with open(os.path.join(base, "MANIFEST.json")) as handle:
                info = json.load(handle)["collection_info"]
            runtime = {}
            if os.path.isfile(os.path.join(base, "meta", "runtime.yml")):
                with open(os.path.join(base, "meta", "runtime.yml")) as handle:
                    runtime = yaml.safe_load(handle) or {}
            return base, info, runtime
    return None


def test_every_collection_the_tests_use_is_declared_and_nothing_more():
    used, wanted = used_collections(), declared()
    assert "ansible.posix" in used and "community.docker" in used  # the scan finds what is known to be there
    missing = {c: sorted(where) for c, where in used.items() if c not in wanted}
    assert not missing, "used by the tests but not in tests/requirements.yml: %s" % missing
    unused = sorted(set(wanted) - set(used))
    assert not unused, "declared in tests/requirements.yml but not used: %s" % unused


def test_the_installed_copies_match_the_declared_versions_and_this_ansible_core():
    # Imported here: controller code loaded at collection time changes how modules tested
    # in-process report warnings.
    from ansible.galaxy.dependency_resolution.versioning import meets_requirements

    for collection, spec in sorted(declared().items()):
        found = installed(collection)
        assert found, ("%s is not installed (pip install ansible, or ansible-galaxy collection install "
                       "-r tests/requirements.yml)" % collection)
        base, info, runtime = found
        assert meets_requirements(info["version"], spec), "%s %s at %s does not meet %s" % (
            collection, info["version"], base, spec)
        requires = runtime.get("requires_ansible")
        if requires:
            assert SpecifierSet(requires).contains(ansible_version, prereleases=True), (
                "%s %s requires ansible-core %s; this is %s" % (
                    collection, info["version"], requires, ansible_version))
