"""Offline stand-in for ansible-test's pip bootstrap script (get-pip-<version>.py).

ansible-test creates each sanity test's virtualenv without pip and downloads get-pip.py from
ci-files.testing.ansible.com to put pip in; that host is not reachable from our CI machines.
scripts/test copies this file to the cache path ansible-test checks first
(~/.ansible/test/cache/get_pip_<version>.py). It does what get-pip.py does: put pip into the
running interpreter's environment (from the wheel bundled with Python, via ensurepip), then
install the requested packages (ansible-test asks for its pinned pip, e.g. pip==24.2) from PyPI.
"""

import ensurepip
import subprocess
import sys

# get-pip.py's own flags; pip install does not know them.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    ensurepip.bootstrap(upgrade=True)
    return subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade", "--quiet"] + args)


if __name__ == "__main__":
    sys.exit(main())
