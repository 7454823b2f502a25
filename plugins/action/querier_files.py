# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE). The MIT License is compatible with the
# GNU General Public License version 3, under which Ansible is distributed.
"""Action plugin of multicast.igmp.querier_files: controller files cross only when they differ.

The module gets the SHA-1 of each ``local_src`` file instead of the file. When the host's copy
differs, the module says so (``transfer``); then, and only then, those files are uploaded into the
task's temporary directory and a second call moves them into place. A run that changes nothing is
one call per host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.hashing import checksum

MODULE = "multicast.igmp.querier_files"


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # unused since Ansible 2.5
        args = dict(self._task.args)
        entries = args.get("files") or []
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise AnsibleActionFail("%s: files must be a list of mappings" % MODULE)
        local = {}  # path on the host -> the controller file
        sent = []
        for entry in entries:
            entry = dict(entry)
            source = entry.pop("local_src", None)
            if source is not None:
                source = to_text(source)
                if not os.path.isabs(source) or not os.path.isfile(source):
                    raise AnsibleActionFail("%s: %s: local_src %r is not a file on the controller" % (
                        MODULE, entry.get("path"), source))
                entry["checksum"] = checksum(source)
                local[entry.get("path")] = source
            sent.append(entry)
        args["files"] = sent
        try:
            first = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
            pending = first.get("transfer") or []
            if first.get("failed") or not pending or self._task.check_mode:
                result.update(first)
                return result
            second = self._upload_and_place(args, pending, local, task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        for key in ("changes", "changed_ids", "diff"):
            merged = list(first.get(key) or [])
            merged.extend(item for item in second.get(key) or [] if item not in merged)
            if merged or key != "diff":
                second[key] = merged
        second["changed"] = bool(first.get("changed") or second.get("changed"))
        result.update(second)
        return result

    def _upload_and_place(self, args, pending, local, task_vars):
        """Upload the files the host lacks; the second call moves them into place and lists again."""
        tmpdir = self._connection._shell.tmpdir or self._make_tmp_path()
        again = []
        for index, entry in enumerate(args["files"]):
            if entry.get("path") not in pending:
                continue
            source = local.get(entry.get("path"))
            if source is None:
                raise AnsibleActionFail("%s: the host asked for %s, which has no local_src" % (MODULE, entry.get("path")))
            remote = self._connection._shell.join_path(tmpdir, "source-%d" % index)
            self._transfer_file(source, remote)
            again.append(dict(entry, src=remote))
        self._fixup_perms2([tmpdir] + [entry["src"] for entry in again])
        return self._execute_module(module_name=MODULE, module_args=dict(args, files=again), task_vars=task_vars)
