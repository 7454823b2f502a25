"""Offline stand-in for ansible-test's pip bootstrap script (get-pip-<version>.py).

ansible-test creates each sanity test's virtualenv without pip and downloads get-pip.py from
ci-files.testing.ansible.com to put pip in; that host is not reachable from our CI machines.
scripts/test copies this file to the cache path ansible-test checks first
(~/.ansible/test/cache/get_pip_<version>.py). It does what get-pip.py does: put pip into the
running interpreter's environment (from the wheel bundled with Python, via ensurepip), then
install the requested packages (ansible-test asks for its pinned pip, e.g. pip==24.2) from PyPI.
"""

import glob
import os
import subprocess
import sys

try:
    import ensurepip
except ImportError:
    ensurepip = None

# get-pip.py's own flags; pip install does not know them.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")


def bootstrap():
    if ensurepip is not None:
        ensurepip.bootstrap(upgrade=True)
        return
    # Debian's python3 without python3-venv (the container legs of scripts/test): the pip wheel
    # scripts/test puts next to this script in ansible-test's cache, run from the wheel itself.
    wheels = sorted(glob.glob(os.path.join(os.path.expanduser("~/.ansible/test/cache"), "pip-*-py3-none-any.whl")))
    if not wheels:
        sys.exit("get_pip_offline: this Python has no ensurepip and ~/.ansible/test/cache has no pip wheel")
    subprocess.check_call([sys.executable, os.path.join(wheels[-1], "pip"), "install", "--quiet", wheels[-1]])


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    bootstrap()
    return subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade", "--quiet"] + args)


if __name__ == "__main__":
    sys.exit(main())
