#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE). The MIT License is compatible with the
# GNU General Public License version 3, under which Ansible is distributed.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: querier_files
short_description: Put the querier role's files, directories and links on a host in one round trip
version_added: "0.2.0"
description:
  - Makes each entry of O(files) what it describes, in order (a directory before the files in it),
    then lists what O(find) asks for. One call per host, whatever the number of files; a run that
    changes nothing costs one round trip, not one or two per file as with M(ansible.builtin.template),
    M(ansible.builtin.copy) and M(ansible.builtin.file).
  - The O(files[].local_src) of an entry is a file on the controller. The action plugin sends only
    its SHA-1 at first; the file itself crosses only when the host's copy differs, in a second call.
  - A file is written to a temporary file in its directory, given its owner and mode, and renamed
    over the old one, so a reader never sees half a file and a link at the path is replaced, never
    followed. Nothing outside the listed paths is touched.
  - Written for the M(multicast.igmp.querier) role (its C(install) and C(configure) steps); it is a
    public module, but the role is the way to install the querier.
author:
  - multicast.igmp developers (!UNKNOWN)
attributes:
  action:
    support: full
    description: The action plugin sends O(files[].local_src) files only when the host's copy differs.
  check_mode:
    support: full
    description: Reports what would change, changes nothing.
  diff_mode:
    support: partial
    description:
      - Shows the old and new text of changed O(files[].content) files, and the old and new state of
        directories, links and removed paths. Files from O(files[].local_src) show no content.
  platform:
    support: full
    platforms: posix
    description: Target OS/families that can be operated against.
    details:
      - POSIX hosts (the querier runs on Linux).
options:
  files:
    description: The paths to manage, in order.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute, normalised path (no C(..), no C(//), no trailing C(/)).
        type: str
        required: true
      state:
        description:
          - V(file) a regular file with O(files[].content) or O(files[].local_src);
            V(directory) a directory (a link to a directory is accepted as it is);
            V(link) a symbolic link to O(files[].target);
            V(absent) nothing at the path (a directory is removed with what it holds).
        type: str
        choices: [file, directory, link, absent]
        default: file
      content:
        description: The file's text (V(file) only; one of O(files[].content), O(files[].local_src)).
        type: str
      local_src:
        description:
          - A file on the controller whose bytes the file gets (V(file) only). The action plugin turns
            it into O(files[].checksum), and into O(files[].src) when the host's copy differs.
        type: path
      checksum:
        description: SHA-1 (hex) of the bytes of O(files[].local_src); set by the action plugin.
        type: str
      src:
        description:
          - A file on the host (the action plugin's upload of O(files[].local_src)) moved into place;
            its SHA-1 must be O(files[].checksum). Set by the action plugin.
        type: str
      target:
        description: What the link points to (V(link) only).
        type: str
      mode:
        description:
          - Octal permissions, for example V('0644'), of a file or directory. Default V('0644') for
            a file and V('0755') for a directory.
        type: str
      owner:
        description: Owner (name) of a file, directory or link.
        type: str
        default: root
      group:
        description: Group (name) of a file, directory or link.
        type: str
        default: root
      create_only:
        description:
          - V(directory) only. Make the directory when it is missing, but leave an existing one as it
            is (another package's directory, such as node_exporter's textfile directory).
        type: bool
        default: false
      id:
        description:
          - A label returned in RV(changed_ids) when the entry changed, so a caller knows what changed
            (the role restarts only the instances whose files changed).
        type: str
  find:
    description:
      - "Listings made after O(files): name -> C({paths, patterns, depth}). Each lists the entries below
        the C(paths) (missing ones are skipped) down to C(depth) levels (default 1) whose base name matches
        one of the shell C(patterns) (default all), links not followed, in RV(found)."
    type: dict
    default: {}
notes:
  - SELinux contexts are not set; a new file gets its directory's default context.
seealso:
  - module: ansible.builtin.file
  - module: ansible.builtin.copy
  - module: ansible.builtin.find
"""

EXAMPLES = r"""
- name: The settings directory and one settings file, and what the directory holds afterwards
  multicast.igmp.querier_files:
    files:
      - {path: /etc/igmp-querier, state: directory, mode: "0755"}
      - {path: /etc/igmp-querier/eth0.conf, content: "IGMP_QUERIER_OPTIONS=--interval 125\n", id: "settings:eth0"}
      - {path: /usr/local/bin/igmp-querier, state: link, target: /usr/local/lib/igmp-querier/igmp-querier}
      - {path: /usr/local/lib/igmp-querier/igmp_querier, state: absent}
    find:
      settings: {paths: [/etc/igmp-querier], patterns: ["*.conf"]}
  register: files
"""

RETURN = r"""
changed_ids:
  description: The O(files[].id) of the entries that changed (or would, in check mode), each once, in order.
  returned: always
  type: list
  elements: str
  sample: ["settings:eth0"]
changes:
  description: One entry per changed path.
  returned: always
  type: list
  elements: dict
  contains:
    path: {description: The path., type: str}
    action:
      description: V(created), V(updated) (content), V(attributes) (owner or mode), V(replaced) (another kind of file was there), V(removed).
      type: str
transfer:
  description: Paths of O(files[].checksum) entries whose content differs and that had no O(files[].src) (the action plugin then uploads them).
  returned: always
  type: list
  elements: str
found:
  description: "For each O(find) name, the entries found: C(path), C(isreg), C(isdir), C(islnk)."
  returned: always
  type: dict
  sample: {settings: [{path: /etc/igmp-querier/eth0.conf, isreg: true, isdir: false, islnk: false}]}
"""

import errno
import fnmatch
import grp
import hashlib
import os
import pwd
import shutil
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

MAX_DIFF = 65536


class EntryError(Exception):
    """An entry that cannot be applied as asked: the message names the path."""


def sha1_file(path):
    digest = hashlib.sha1()  # nosec: a content comparison (what copy uses), not security
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def check_path(path, what="path"):
    if not isinstance(path, str) or not path or "\0" in path or "\n" in path:
        raise EntryError("%s %r is empty or holds a NUL or newline" % (what, path))
    if not path.startswith("/") or os.path.normpath(path) != path or path.startswith("//"):
        raise EntryError("%s %r is not an absolute, normalised path (no .., no //, no trailing /)" % (what, path))
    if path == "/":
        raise EntryError("path '/' is not a file the role manages")


def owner_ids(entry):
    try:
        uid = pwd.getpwnam(entry["owner"]).pw_uid
    except KeyError:
        raise EntryError("%s: no user %r on the host" % (entry["path"], entry["owner"]))
    try:
        gid = grp.getgrnam(entry["group"]).gr_gid
    except KeyError:
        raise EntryError("%s: no group %r on the host" % (entry["path"], entry["group"]))
    return uid, gid


def parse_mode(entry, default):
    text = entry.get("mode")
    if text is None:
        return default
    if not isinstance(text, str) or not text or len(text) > 4 or any(c not in "01234567" for c in text):
        raise EntryError("%s: mode %r is not octal permissions such as '0644'" % (entry["path"], text))
    return int(text, 8)


def lstat(path):
    try:
        return os.lstat(path)
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def kind(st):
    if st is None:
        return "absent"
    if stat.S_ISLNK(st.st_mode):
        return "link"
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    if stat.S_ISREG(st.st_mode):
        return "file"
    return "special file"


class Files:
    """Applies the entries one by one; collects changes, diffs and transfers."""

    def __init__(self, check_mode, want_diff):
        self.check_mode = check_mode
        self.want_diff = want_diff
        self.changes = []
        self.changed_ids = []
        self.transfer = []
        self.diff = []

    def changed(self, entry, action, before=None, after=None):
        self.changes.append({"path": entry["path"], "action": action})
        if entry.get("id") and entry["id"] not in self.changed_ids:
            self.changed_ids.append(entry["id"])
        if self.want_diff and (before is not None or after is not None):
            self.diff.append({"before_header": entry["path"], "after_header": entry["path"],
                              "before": before or "", "after": after or ""})

    @staticmethod
    def validate(entry):
        """What can be checked before anything changes: a bad entry fails the task untouched."""
        check_path(entry["path"])
        state = entry["state"]
        extras = {"content": state == "file", "local_src": state == "file", "checksum": state == "file",
                  "src": state == "file", "target": state == "link", "create_only": state == "directory",
                  "mode": state in ("file", "directory")}
        for key, allowed in extras.items():
            if entry.get(key) not in (None, False) and not allowed:
                raise EntryError("%s: %s is not an option of state %s" % (entry["path"], key, state))
        if entry.get("local_src"):
            raise EntryError("%s: local_src is for the action plugin; the module got it unconverted" % entry["path"])
        if state == "file":
            if (entry.get("content") is None) == (entry.get("checksum") is None):
                raise EntryError("%s: state file needs content or local_src (exactly one)" % entry["path"])
            digest = entry.get("checksum")
            if digest is not None and (len(digest) != 40 or any(c not in "0123456789abcdefABCDEF" for c in digest)):
                raise EntryError("%s: checksum %r is not a SHA-1 in hex" % (entry["path"], digest))
            if entry.get("src") is not None:
                check_path(entry["src"], "src")
        if state == "link":
            target = entry.get("target")
            if not isinstance(target, str) or not target or "\0" in target or "\n" in target:
                raise EntryError("%s: state link needs a target (no NUL, no newline)" % entry["path"])
        parse_mode(entry, None)
        owner_ids(entry)

    def apply(self, entry):
        getattr(self, "apply_" + entry["state"])(entry)

    # --- state: absent
    def apply_absent(self, entry):
        path = entry["path"]
        st = lstat(path)
        if st is None:
            return
        self.changed(entry, "removed", "%s\n" % kind(st), "absent\n")
        if self.check_mode:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)

    # --- state: directory
    def apply_directory(self, entry):
        path = entry["path"]
        mode = parse_mode(entry, 0o755)
        uid, gid = owner_ids(entry)
        st = lstat(path)
        if st is not None and stat.S_ISLNK(st.st_mode) and os.path.isdir(path):
            return  # a link to a directory (an administrator's layout) is accepted as it is
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise EntryError("%s: is a %s, not a directory; remove it or choose another path" % (path, kind(st)))
        if st is None:
            self.changed(entry, "created", "absent\n", "directory\n")
            if not self.check_mode:
                # Missing parents too (as ansible.builtin.file does), with the same owner and mode.
                missing = [path]
                while not os.path.isdir(os.path.dirname(missing[-1])):
                    missing.append(os.path.dirname(missing[-1]))
                for directory in reversed(missing):
                    if lstat(directory) is not None:
                        raise EntryError("%s: %s is in the way, not a directory" % (path, directory))
                    os.mkdir(directory, mode)
                    os.chown(directory, uid, gid)
                    os.chmod(directory, mode)  # mkdir's mode passes through the umask
            return
        if entry.get("create_only"):
            return
        if stat.S_IMODE(st.st_mode) != mode or (st.st_uid, st.st_gid) != (uid, gid):
            self.changed(entry, "attributes")
            if not self.check_mode:
                os.chown(path, uid, gid)
                os.chmod(path, mode)

    # --- state: link
    def apply_link(self, entry):
        path, target = entry["path"], entry["target"]
        uid, gid = owner_ids(entry)
        st = lstat(path)
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise EntryError("%s: is a directory, not replaced by a link; remove it first" % path)
        if st is not None and stat.S_ISLNK(st.st_mode) and os.readlink(path) == target:
            if (st.st_uid, st.st_gid) != (uid, gid):
                self.changed(entry, "attributes")
                if not self.check_mode:
                    os.lchown(path, uid, gid)
            return
        before = "absent\n" if st is None else ("link -> %s\n" % os.readlink(path) if stat.S_ISLNK(st.st_mode)
                                                else "%s\n" % kind(st))
        self.changed(entry, "created" if st is None else "replaced", before, "link -> %s\n" % target)
        if self.check_mode:
            return
        temp = self.new_link(path, target)
        try:
            os.lchown(temp, uid, gid)
            os.rename(temp, path)
        except BaseException:
            os.unlink(temp)
            raise

    # --- state: file
    def apply_file(self, entry):
        path = entry["path"]
        content, checksum = entry.get("content"), entry.get("checksum")
        data = content.encode("utf-8") if content is not None else None
        wanted = hashlib.sha1(data).hexdigest() if data is not None else checksum.lower()  # nosec: comparison
        mode = parse_mode(entry, 0o644)
        uid, gid = owner_ids(entry)
        st = lstat(path)
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise EntryError("%s: is a directory, not replaced by a file; remove it first" % path)
        regular = st is not None and stat.S_ISREG(st.st_mode)
        if st is None and not os.path.isdir(os.path.dirname(path)) and not self.check_mode:
            raise EntryError("%s: its directory does not exist (list it first, as state directory)" % path)
        if regular and sha1_file(path) == wanted:
            if stat.S_IMODE(st.st_mode) != mode or (st.st_uid, st.st_gid) != (uid, gid):
                self.changed(entry, "attributes")
                if not self.check_mode:
                    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
                    try:
                        os.fchown(fd, uid, gid)
                        os.fchmod(fd, mode)
                    finally:
                        os.close(fd)
            return
        if data is None:
            src = entry.get("src")
            if not src:
                self.transfer.append(path)
                if self.check_mode:
                    self.changed(entry, "created" if st is None else "updated")
                return
            if sha1_file(src) != wanted:
                raise EntryError("%s: the uploaded file %s is not the content sent (SHA-1 differs)" % (path, src))
        before = None
        if self.want_diff and data is not None:
            before = self.old_text(path, regular, st)
        self.changed(entry, "updated" if regular else ("created" if st is None else "replaced"),
                     before, content if data is not None else None)
        if self.check_mode:
            return
        self.write(path, data, entry.get("src"), mode, uid, gid)

    @staticmethod
    def new_link(path, target):
        """A link to target beside path, under a fresh name (symlink() refuses an existing one)."""
        for _attempt in range(100):
            temp = os.path.join(os.path.dirname(path), ".%s.%s" % (os.path.basename(path), os.urandom(6).hex()))
            try:
                os.symlink(target, temp)
                return temp
            except OSError as err:
                if err.errno != errno.EEXIST:
                    raise
        raise EntryError("%s: no free temporary name beside it" % path)

    @staticmethod
    def old_text(path, regular, st):
        if not regular:
            return "" if st is None else "%s\n" % kind(st)
        if st.st_size > MAX_DIFF:
            return "(%d bytes, not shown)\n" % st.st_size
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")

    @staticmethod
    def write(path, data, src, mode, uid, gid):
        fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchown(handle.fileno(), uid, gid)
                os.fchmod(handle.fileno(), mode)
                if data is not None:
                    handle.write(data)
                else:
                    with open(src, "rb") as source:
                        shutil.copyfileobj(source, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(temp, path)
        except BaseException:
            if os.path.lexists(temp):
                os.unlink(temp)
            raise


def find_spec(name, spec):
    """One O(find) listing's (paths, patterns, depth), checked."""
    if not isinstance(spec, dict) or set(spec) - {"paths", "patterns", "depth"}:
        raise EntryError("find %s: takes paths, patterns and depth" % name)
    paths = spec.get("paths") or []
    patterns = spec.get("patterns") or ["*"]
    depth = spec.get("depth", 1)
    if isinstance(paths, str):
        paths = [paths]
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= 8:
        raise EntryError("find %s: depth %r is not a number from 1 to 8" % (name, depth))
    for path in paths:
        check_path(path, "find %s path" % name)
    if not all(isinstance(pattern, str) and pattern for pattern in patterns):
        raise EntryError("find %s: patterns must be non-empty strings" % name)
    return paths, patterns, depth


def listing(paths, patterns, depth):
    """The entries below paths (depth levels, links not followed) whose name matches a pattern."""
    found = []
    for path in paths:
        walk(path, patterns, depth, found)
    return found


def walk(directory, patterns, depth, found):
    try:
        names = sorted(os.listdir(directory))
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return
        raise
    for name in names:
        path = os.path.join(directory, name)
        st = lstat(path)
        if st is None:
            continue
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            found.append({"path": path, "isreg": stat.S_ISREG(st.st_mode), "isdir": stat.S_ISDIR(st.st_mode),
                          "islnk": stat.S_ISLNK(st.st_mode)})
        if depth > 1 and stat.S_ISDIR(st.st_mode):
            walk(path, patterns, depth - 1, found)


def main():
    entry_spec = dict(
        path=dict(type="str", required=True),
        state=dict(type="str", choices=["file", "directory", "link", "absent"], default="file"),
        content=dict(type="str"),
        local_src=dict(type="path"),
        checksum=dict(type="str"),
        src=dict(type="str"),
        target=dict(type="str"),
        mode=dict(type="str"),
        owner=dict(type="str", default="root"),
        group=dict(type="str", default="root"),
        create_only=dict(type="bool", default=False),
        id=dict(type="str"),
    )
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", options=entry_spec, default=[]),
            find=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    files = Files(module.check_mode, module._diff)
    result = {"changed": False, "changes": files.changes, "changed_ids": files.changed_ids,
              "transfer": files.transfer, "found": {}}
    try:
        for entry in module.params["files"]:
            files.validate(entry)
        listings = dict((name, find_spec(name, spec)) for name, spec in module.params["find"].items())
        for entry in module.params["files"]:
            files.apply(entry)
        for name in sorted(listings):
            result["found"][name] = listing(*listings[name])
    except (EntryError, OSError) as err:
        result["changed"] = bool(files.changes)
        module.fail_json(msg="multicast.igmp.querier_files: %s" % err, **result)
    result["changed"] = bool(files.changes)
    if files.diff:
        result["diff"] = files.diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
