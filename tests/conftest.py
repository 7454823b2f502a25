"""Shared pytest set-up: make this checkout importable as ``ansible_collections.multicast.igmp``.

The collection's code is imported by its full name everywhere (the way Ansible loads it), so a
symlink tree ``<tmp>/<checkout hash>/ansible_collections/multicast/igmp -> <repo>`` goes on
``sys.path`` first: one per checkout, so two checkouts tested at once never import each other.
"""

import hashlib
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_UTILS = os.path.join(REPO, "plugins", "module_utils")

# MULTICAST_IGMP_NO_NETIFACES=1: test as on a host without netifaces (netif.py's ioctl
# fallback). A netifaces.py that raises ImportError goes first on this process's path and on
# PYTHONPATH for its children, before anything imports the package.
NO_NETIFACES = os.environ.get("MULTICAST_IGMP_NO_NETIFACES", "") not in ("", "0")
NO_NETIFACES_DIR = os.path.join(REPO, "tests", "no_netifaces")
if NO_NETIFACES:
    if "netifaces" in sys.modules:
        raise RuntimeError("MULTICAST_IGMP_NO_NETIFACES=1, but netifaces was imported before tests/conftest.py")
    sys.path.insert(0, NO_NETIFACES_DIR)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, (NO_NETIFACES_DIR, os.environ.get("PYTHONPATH"))))


def _collection_root() -> str:
    parts = REPO.split(os.sep)
    if parts[-3:] == ["ansible_collections", "multicast", "igmp"]:
        return os.sep.join(parts[:-3])
    tag = hashlib.sha256(REPO.encode()).hexdigest()[:12]
    root = os.path.join(tempfile.gettempdir(), "multicast-igmp-pytest-%d" % os.getuid(), tag)
    link = os.path.join(root, "ansible_collections", "multicast", "igmp")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.realpath(link) != REPO:
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(REPO, link)
    return root


COLLECTIONS_ROOT = _collection_root()
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)


# The shared helpers of tests/helpers.py as fixtures (the functions stay importable for the
# benchmarks and the molecule verifiers, which run without this conftest).
import pytest  # noqa: E402

from tests import helpers  # noqa: E402


@pytest.fixture(name="collections_root", scope="session")
def collections_root_fixture():
    """The sys.path entry holding ansible_collections/multicast/igmp (PYTHONPATH or
    ANSIBLE_COLLECTIONS_PATH of a child process)."""
    return helpers.collections_root()


@pytest.fixture(name="run_module")
def run_module_fixture(capsys):
    """``run_module(main, **args)``: a module's main() in this process; (exit code, result)."""
    return lambda main, **args: helpers.run_module(main, capsys, **args)


@pytest.fixture(name="warnings_of", scope="session")
def warnings_of_fixture():
    """``warnings_of(result)``: the warning texts of a module result."""
    return helpers.warnings_of


@pytest.fixture(name="wait_until", scope="session")
def wait_until_fixture():
    """``wait_until(predicate, timeout, what, interval=0.05, error=AssertionError)``."""
    return helpers.wait_until
