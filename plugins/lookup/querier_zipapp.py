# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE). The MIT License is compatible with the
# GNU General Public License version 3, under which Ansible is distributed.
"""Lookup querier_zipapp: the querier daemon as one executable zipapp, built on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: querier_zipapp
short_description: The IGMP querier daemon as one executable zipapp file, built on the controller
version_added: "0.2.0"
description:
  - Builds a Python zipapp (a zip archive behind a C(#!) line) of the daemon's package from the given
    C(.py) files and returns its path on the controller, for M(multicast.igmp.querier_files) (or M(ansible.builtin.copy)) to ship to hosts
    in one transfer. The file is the host's C(igmp-querier) command and what the unit runs.
  - The archive holds C(PACKAGE/NAME.py) for each file and a top-level C(__main__.py) that runs
    C(PACKAGE/__main__.py), so C(python3 FILE ARGS) and C(FILE ARGS) run C(python3 -m PACKAGE ARGS).
  - Its bytes depend only on the files' names and contents, O(interpreter) and O(package). The
    entries are sorted, with fixed timestamps and permissions and no compression (compressed bytes
    differ between zlib builds). Another run, checkout or controller builds the same file, so the
    copy is idempotent.
  - The file is built once per content, as C(CACHE_DIR/igmp-querier-HASH/igmp-querier) (HASH from
    its SHA-256 key), and reused. The file's name is the command's, so a copy to C(DIR/) installs
    C(DIR/igmp-querier).
options:
  _terms:
    description:
      - Paths of the package's modules on the controller, each a C(.py) file with a Python module name.
        C(__init__.py) and C(__main__.py) must be among them.
    type: list
    elements: path
    required: true
  interpreter:
    description: Absolute path of the hosts' Python, written in the C(#!) line.
    type: str
    default: /usr/bin/python3
  package:
    description: Name of the package inside the archive.
    type: str
    default: igmp_querier
  cache_dir:
    description:
      - Controller directory the archives are built into. Default is the run's own temporary
        directory (Ansible's C(local_tmp)), which Ansible removes when the run ends.
    type: path
notes:
  - Runs on the controller only.
seealso:
  - module: ansible.builtin.copy
author:
  - multicast.igmp developers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Install the daemon (one file, one transfer)
  ansible.builtin.copy:
    src: "{{ lookup('multicast.igmp.querier_zipapp', *query('ansible.builtin.fileglob', pkg ~ '/*.py'),
                    interpreter='/usr/bin/python3') }}"
    dest: /usr/local/lib/igmp-querier/igmp-querier
    mode: "0755"
  vars:
    pkg: /path/to/igmp_querier
"""

RETURN = r"""
_raw:
  description: The path of the zipapp on the controller (one element).
  type: list
  elements: path
"""

import hashlib
import io
import os
import re
import tempfile
import zipfile

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.lookup import LookupBase

#: Bumped when the archive's layout changes, so that old cache entries are not reused.
FORMAT = b"multicast.igmp querier_zipapp 1\n"
#: The DOS date of every entry: zip's epoch, so the bytes never depend on a checkout's mtimes.
EPOCH = (1980, 1, 1, 0, 0, 0)
#: The file name of the zipapp: the on-host command's name.
COMMAND = "igmp-querier"
MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*[.]py$")
PACKAGE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# An absolute path of printable non-space ASCII: what a #! line can hold (Linux reads 255 bytes).
INTERPRETER = re.compile(r"^/[\x21-\x7e]{1,200}$")
MAIN = (
    "# -*- coding: utf-8 -*-\n"
    "# The querier daemon and its status command in one file: runs %(package)s/__main__.py\n"
    "# (python3 THIS-FILE ARGS is python3 -m %(package)s ARGS).\n"
    "import runpy\n"
    "\n"
    "runpy.run_module(%(package)r, run_name=\"__main__\", alter_sys=True)\n"
)


def _entry(name):
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.create_system = 3  # Unix, so external_attr carries the permissions
    info.external_attr = 0o100644 << 16
    info.compress_type = zipfile.ZIP_STORED
    return info


def build(sources, interpreter="/usr/bin/python3", package="igmp_querier"):
    """The zipapp's bytes for ``sources`` ({module file name: its bytes})."""
    if not isinstance(interpreter, str) or not INTERPRETER.fullmatch(interpreter):
        raise ValueError("interpreter must be an absolute path without spaces or control characters, got %r"
                         % (interpreter,))
    if not isinstance(package, str) or not PACKAGE_NAME.fullmatch(package):
        raise ValueError("package must be a Python identifier, got %r" % (package,))
    for name in sources:
        if not MODULE_NAME.fullmatch(name):
            raise ValueError("%r is not a Python module file name (NAME.py)" % (name,))
    missing = sorted({"__init__.py", "__main__.py"} - set(sources))
    if missing:
        raise ValueError("the package has no %s" % " or ".join(missing))
    buffer = io.BytesIO()
    buffer.write(b"#!" + interpreter.encode("ascii") + b"\n")
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_entry("__main__.py"), (MAIN % {"package": package}).encode("ascii"))
        for name in sorted(sources):
            archive.writestr(_entry("%s/%s" % (package, name)), sources[name])
    return buffer.getvalue()


def digest(sources, interpreter, package):
    """SHA-256 of everything the bytes depend on: the cache key."""
    key = hashlib.sha256(FORMAT)
    for part in [interpreter, package] + sorted(sources):
        key.update(part.encode("utf-8") + b"\0")
        if part in sources:
            key.update(hashlib.sha256(sources[part]).digest())
    return key.hexdigest()


def read_sources(paths):
    """{file name: bytes} of ``paths``; a clear error for anything that is not a module file."""
    sources = {}
    for path in paths:
        if not isinstance(path, str) or not path:
            raise ValueError("every term must be a file path, got %r" % (path,))
        name = os.path.basename(path)
        if not MODULE_NAME.fullmatch(name):
            raise ValueError("%s is not a Python module file (NAME.py)" % path)
        if name in sources:
            raise ValueError("two files are named %s" % name)
        if not os.path.isfile(path):
            raise ValueError("%s is not a regular file" % path)
        with open(path, "rb") as handle:
            sources[name] = handle.read()
    return sources


def cached(cache_dir, sources, interpreter, package):
    """The path of the zipapp, ``cache_dir/igmp-querier-HASH/igmp-querier``, built unless it is there.
    Its own directory keeps the file's name the command's, for a copy to a directory (``dest: DIR/``)."""
    directory = os.path.join(cache_dir, "igmp-querier-%s" % digest(sources, interpreter, package)[:32])
    target = os.path.join(directory, COMMAND)
    if os.path.isfile(target):
        return target
    data = build(sources, interpreter, package)
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, mode=0o755)
        except OSError:
            if not os.path.isdir(directory):  # another fork made it first
                raise
    # Several forks may build it at once: each writes its own file and renames it into place.
    handle, partial = tempfile.mkstemp(prefix=".%s-" % COMMAND, dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(partial, 0o755)
        os.rename(partial, target)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    return target


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        cache_dir = self.get_option("cache_dir")
        if not cache_dir:
            from ansible import constants as C

            cache_dir = C.DEFAULT_LOCAL_TMP
        try:
            sources = read_sources(terms)
            return [cached(cache_dir, sources, self.get_option("interpreter"), self.get_option("package"))]
        except (ValueError, OSError) as exc:
            raise AnsibleLookupError("multicast.igmp.querier_zipapp: %s" % to_native(exc))
