"""querier_files: the role's files in one call, on a real file system (a temporary directory).

The module runs through its main() in this process for what it does to paths; the action plugin
runs through ansible-playbook (connection local) for what crosses: a controller file is uploaded
only when the host's copy differs, counted from ansible's own -vvv transfer lines.
Owner and group are the user running the tests, so this runs as root and as anyone else.
"""

import functools
import grp
import hashlib
import json
import os
import pwd
import stat
import subprocess
import sys

import pytest

from ansible_collections.multicast.igmp.plugins.modules import querier_files
from tests.helpers import collections_root, run_module as run_main
from tests.unit.roles.conftest import find_ansible_playbook

run_module = functools.partial(run_main, querier_files.main)
OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def entry(path, **options):
    return dict(options, path=str(path), owner=OWNER, group=GROUP)


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_files_directories_links_and_removals_are_made_in_order_then_listed(tmp_path, capsys):
    (tmp_path / "old" / "pkg").mkdir(parents=True)
    (tmp_path / "old" / "pkg" / "a.py").write_text("x")
    code, result = run_module(capsys, files=[
        entry(tmp_path / "etc", state="directory", mode="0750"),
        entry(tmp_path / "etc" / "eth0.conf", content="A=1\n", id="settings:eth0"),
        entry(tmp_path / "cmd", state="link", target="/nowhere/igmp-querier"),
        entry(tmp_path / "old", state="absent", id="code"),
    ], find={"etc": {"paths": [str(tmp_path / "etc")], "patterns": ["*.conf"]}})
    assert code == 0 and result["changed"], result
    assert (tmp_path / "etc" / "eth0.conf").read_text() == "A=1\n"
    assert mode_of(tmp_path / "etc") == 0o750 and mode_of(tmp_path / "etc" / "eth0.conf") == 0o644
    assert os.readlink(str(tmp_path / "cmd")) == "/nowhere/igmp-querier"
    assert not os.path.lexists(str(tmp_path / "old"))
    assert result["changed_ids"] == ["settings:eth0", "code"]
    assert [c["action"] for c in result["changes"]] == ["created", "created", "created", "removed"]
    assert result["found"] == {"etc": [{"path": str(tmp_path / "etc" / "eth0.conf"), "isreg": True, "isdir": False,
                                        "islnk": False}]}
    assert sorted(os.listdir(str(tmp_path))) == ["cmd", "etc"]  # no temporary file left


def test_a_second_run_changes_nothing(tmp_path, capsys):
    files = [entry(tmp_path / "d", state="directory"), entry(tmp_path / "d" / "f", content="same\n", id="x"),
             entry(tmp_path / "l", state="link", target="d/f"), entry(tmp_path / "gone", state="absent")]
    assert run_module(capsys, files=files)[1]["changed"]
    before = os.stat(str(tmp_path / "d" / "f"))
    code, result = run_module(capsys, files=files)
    assert code == 0 and not result["changed"] and result["changes"] == [] and result["changed_ids"] == []
    assert os.stat(str(tmp_path / "d" / "f")).st_ino == before.st_ino  # not rewritten


def test_only_what_differs_changes_and_only_its_id_is_reported(tmp_path, capsys):
    files = [entry(tmp_path / "a.conf", content="a\n", id="settings:a"),
             entry(tmp_path / "b.conf", content="b\n", id="settings:b"),
             entry(tmp_path / "c.conf", content="c\n", mode="0600", id="settings:c")]
    run_module(capsys, files=files)
    (tmp_path / "b.conf").write_text("edited by hand\n")
    os.chmod(str(tmp_path / "c.conf"), 0o666)
    code, result = run_module(capsys, files=files)
    assert code == 0 and result["changed_ids"] == ["settings:b", "settings:c"]
    assert result["changes"] == [{"path": str(tmp_path / "b.conf"), "action": "updated"},
                                 {"path": str(tmp_path / "c.conf"), "action": "attributes"}]
    assert (tmp_path / "b.conf").read_text() == "b\n" and mode_of(tmp_path / "c.conf") == 0o600


def test_check_mode_reports_the_changes_and_diffs_and_makes_none(tmp_path, capsys):
    (tmp_path / "f").write_text("old\n")
    code, result = run_module(capsys, files=[entry(tmp_path / "f", content="new\n", id="f"),
                                             entry(tmp_path / "d", state="directory"),
                                             entry(tmp_path / "z", checksum="0" * 40, id="code")],
                              _ansible_check_mode=True, _ansible_diff=True)
    assert code == 0 and result["changed"] and result["changed_ids"] == ["f", "code"]
    assert (tmp_path / "f").read_text() == "old\n" and sorted(os.listdir(str(tmp_path))) == ["f"]
    assert {"before_header": str(tmp_path / "f"), "after_header": str(tmp_path / "f"), "before": "old\n",
            "after": "new\n"} in result["diff"]
    assert result["transfer"] == [str(tmp_path / "z")]


def test_a_link_planted_at_a_file_path_is_replaced_never_followed(tmp_path, capsys):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.chmod(str(victim), 0o600)
    os.symlink(str(victim), str(tmp_path / "unit"))
    code, result = run_module(capsys, files=[entry(tmp_path / "unit", content="[Unit]\n", mode="0644")])
    assert code == 0 and result["changes"][0]["action"] == "replaced"
    assert not os.path.islink(str(tmp_path / "unit")) and (tmp_path / "unit").read_text() == "[Unit]\n"
    assert victim.read_text() == "precious\n" and mode_of(victim) == 0o600


def test_a_link_replaces_an_old_wrapper_file_and_a_wrong_link(tmp_path, capsys):
    (tmp_path / "cmd").write_text("#!/bin/sh\nexec old\n")
    os.symlink("/elsewhere", str(tmp_path / "cmd2"))
    code, result = run_module(capsys, files=[entry(tmp_path / "cmd", state="link", target="/new"),
                                             entry(tmp_path / "cmd2", state="link", target="/new")])
    assert code == 0 and [c["action"] for c in result["changes"]] == ["replaced", "replaced"]
    assert os.readlink(str(tmp_path / "cmd")) == os.readlink(str(tmp_path / "cmd2")) == "/new"


def test_a_directory_is_made_with_its_missing_parents_and_a_file_needs_its_directory(tmp_path, capsys):
    code, result = run_module(capsys, files=[entry(tmp_path / "var" / "lib" / "textfile", state="directory", mode="0750")])
    assert code == 0 and result["changes"] == [{"path": str(tmp_path / "var" / "lib" / "textfile"), "action": "created"}]
    assert mode_of(tmp_path / "var") == mode_of(tmp_path / "var" / "lib") == mode_of(tmp_path / "var" / "lib" / "textfile") == 0o750
    code, result = run_module(capsys, files=[entry(tmp_path / "nodir" / "f", content="x")])
    assert code == 1 and "nodir/f: its directory does not exist (list it first, as state directory)" in result["msg"]


def test_create_only_leaves_an_existing_directory_as_it_is(tmp_path, capsys):
    (tmp_path / "textfile").mkdir()
    os.chmod(str(tmp_path / "textfile"), 0o770)
    code, result = run_module(capsys, files=[entry(tmp_path / "textfile", state="directory", create_only=True),
                                             entry(tmp_path / "new", state="directory", create_only=True)])
    assert code == 0 and result["changes"] == [{"path": str(tmp_path / "new"), "action": "created"}]
    assert mode_of(tmp_path / "textfile") == 0o770 and mode_of(tmp_path / "new") == 0o755


def test_find_lists_matching_names_to_the_depth_asked_without_following_links(tmp_path, capsys):
    (tmp_path / "units" / "multi-user.target.wants").mkdir(parents=True)
    (tmp_path / "units" / "igmp-querier@eth0.service.d").mkdir()
    (tmp_path / "units" / "igmp-querier@eth0.service.d" / "mld.conf").write_text("")
    os.symlink("/x", str(tmp_path / "units" / "multi-user.target.wants" / "igmp-querier@eth0.service"))
    (tmp_path / "units" / "other.service").write_text("")
    os.symlink(str(tmp_path / "units"), str(tmp_path / "loop"))
    spec = {"paths": [str(tmp_path / "units"), str(tmp_path / "missing"), str(tmp_path / "loop")],
            "patterns": ["igmp-querier@?*.service", "igmp-querier@?*.service.d", "mld.conf"], "depth": 2}
    code, result = run_module(capsys, find={"named": spec, "shallow": dict(spec, depth=1)})
    assert code == 0 and not result["changed"]
    units = str(tmp_path / "units")
    named = [(e["path"][len(units):] if e["path"].startswith(units) else e["path"], e["isdir"], e["islnk"])
             for e in result["found"]["named"] if e["path"].startswith(units)]
    assert named == [("/igmp-querier@eth0.service.d", True, False), ("/igmp-querier@eth0.service.d/mld.conf", False, False),
                     ("/multi-user.target.wants/igmp-querier@eth0.service", False, True)]
    # The link "loop" names a directory: listed through, as find's paths are, and no deeper than asked.
    assert [e["path"] for e in result["found"]["shallow"]] == [units + "/igmp-querier@eth0.service.d",
                                                               str(tmp_path / "loop" / "igmp-querier@eth0.service.d")]


@pytest.mark.parametrize("bad, message", [
    ({"path": "relative/x", "content": ""}, "is not an absolute, normalised path"),
    ({"path": "/etc/../etc/passwd", "content": ""}, "is not an absolute, normalised path"),
    ({"path": "/tmp/x/", "content": ""}, "is not an absolute, normalised path"),
    ({"path": "/tmp/a\nb", "content": ""}, "holds a NUL or newline"),
    ({"path": "/", "state": "absent"}, "path '/' is not a file the role manages"),
    ({"path": "/tmp/x", "content": "", "mode": "999"}, "mode '999' is not octal permissions"),
    ({"path": "/tmp/x", "content": "", "mode": "u+rwx"}, "mode 'u+rwx' is not octal permissions"),
    ({"path": "/tmp/x", "content": "", "owner": "no-such-user-here"}, "no user 'no-such-user-here' on the host"),
    ({"path": "/tmp/x", "content": "", "group": "no-such-group-here"}, "no group 'no-such-group-here' on the host"),
    ({"path": "/tmp/x"}, "state file needs content or local_src (exactly one)"),
    ({"path": "/tmp/x", "content": "", "checksum": "0" * 40}, "state file needs content or local_src (exactly one)"),
    ({"path": "/tmp/x", "checksum": "not-a-sha1"}, "checksum 'not-a-sha1' is not a SHA-1 in hex"),
    ({"path": "/tmp/x", "checksum": "0" * 40, "src": "../up"}, "src '../up' is not an absolute"),
    ({"path": "/tmp/x", "state": "link"}, "state link needs a target"),
    ({"path": "/tmp/x", "state": "link", "target": "a\0b"}, "state link needs a target"),
    ({"path": "/tmp/x", "state": "absent", "content": "x"}, "content is not an option of state absent"),
    ({"path": "/tmp/x", "state": "directory", "target": "/y"}, "target is not an option of state directory"),
    ({"path": "/tmp/x", "state": "link", "target": "/y", "mode": "0644"}, "mode is not an option of state link"),
    ({"path": "/tmp/x", "local_src": "/etc/hostname"}, "local_src is for the action plugin"),
])
def test_a_bad_entry_fails_with_its_path_named_before_anything_changes(tmp_path, capsys, bad, message):
    first = entry(tmp_path / "first", content="made?\n")
    bad = dict({"owner": OWNER, "group": GROUP}, **bad)
    code, result = run_module(capsys, files=[first, bad])
    assert code == 1 and result["failed"], result
    assert result["msg"].startswith("multicast.igmp.querier_files: ") and message in result["msg"], result["msg"]
    assert not os.path.exists(str(tmp_path / "first")) and not result["changed"]


@pytest.mark.parametrize("spec, message", [
    ({"paths": ["etc"]}, "find x path 'etc' is not an absolute"),
    ({"paths": ["/etc"], "depth": 0}, "depth 0 is not a number from 1 to 8"),
    ({"paths": ["/etc"], "depth": True}, "depth True is not a number"),
    ({"paths": ["/etc"], "recurse": True}, "find x: takes paths, patterns and depth"),
    ({"paths": ["/etc"], "patterns": [""]}, "patterns must be non-empty strings"),
])
def test_a_bad_listing_fails_before_anything_changes(tmp_path, capsys, spec, message):
    code, result = run_module(capsys, files=[entry(tmp_path / "first", content="")], find={"x": spec})
    assert code == 1 and message in result["msg"], result["msg"]
    assert not os.path.exists(str(tmp_path / "first"))


def test_what_is_in_the_way_fails_with_a_clear_error_and_is_not_removed(tmp_path, capsys):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "keep").write_text("")
    (tmp_path / "file").write_text("keep\n")
    for wanted, message in ((entry(tmp_path / "dir", content=""), "is a directory, not replaced by a file"),
                            (entry(tmp_path / "dir", state="link", target="/x"), "is a directory, not replaced by a link"),
                            (entry(tmp_path / "file", state="directory"), "is a file, not a directory")):
        code, result = run_module(capsys, files=[wanted])
        assert code == 1 and message in result["msg"], result["msg"]
    assert (tmp_path / "dir" / "keep").exists() and (tmp_path / "file").read_text() == "keep\n"


def test_an_upload_whose_bytes_are_not_the_checksum_sent_is_refused(tmp_path, capsys):
    upload = tmp_path / "upload"
    upload.write_bytes(b"tampered")
    digest = hashlib.sha1(b"the real daemon").hexdigest()
    code, result = run_module(capsys, files=[entry(tmp_path / "daemon", checksum=digest, src=str(upload))])
    assert code == 1 and "the uploaded file %s is not the content sent" % upload in result["msg"]
    assert not os.path.exists(str(tmp_path / "daemon"))


# --- through ansible-playbook: the action plugin --------------------------------------------

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Files
      multicast.igmp.querier_files:
        files:
          - {path: "%(root)s/lib", state: directory, owner: %(owner)s, group: %(group)s}
          - {path: "%(root)s/lib/igmp-querier", local_src: "%(blob)s", mode: "0755", id: code, owner: %(owner)s, group: %(group)s}
          - {path: "%(root)s/lib/eth0.conf", content: "A=1\\n", id: "settings:eth0", owner: %(owner)s, group: %(group)s}
        find:
          lib: {paths: ["%(root)s/lib"]}
      register: result
    - name: Show
      ansible.builtin.debug:
        msg: "RESULT=={{ result | to_json }}=="
"""


def playbook(tmp_path, *extra):
    command = find_ansible_playbook()
    if not command:
        pytest.skip("ansible-playbook is not installed next to this Python or on PATH")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_PIPELINING="False",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default")
    done = subprocess.run([command, "-i", "localhost,", "-vvv", "-e", "ansible_python_interpreter=" + sys.executable,
                           str(tmp_path / "play.yml")] + list(extra), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300,
                          check=False)
    # the debug line:     "msg": "RESULT==<the result as JSON, quoted>=="
    marker = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith('"msg": "RESULT==')]
    result = json.loads(json.loads("{%s}" % marker[-1])["msg"][len("RESULT=="):-2]) if marker else None
    # ansible's own trace of what crossed (connection local: "PUT <src> TO <dest>")
    uploads = [line for line in done.stdout.splitlines() if " PUT " in line and "source-" in line]
    return done, result, uploads


@pytest.fixture()
def play(tmp_path):
    blob = tmp_path / "daemon.pyz"
    blob.write_bytes(os.urandom(150000))
    (tmp_path / "play.yml").write_text(PLAY % {"root": tmp_path / "host", "blob": blob, "owner": OWNER, "group": GROUP})
    (tmp_path / "host").mkdir()
    return blob


def test_the_controller_file_crosses_once_then_only_when_it_differs(tmp_path, play):
    done, result, uploads = playbook(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    installed = tmp_path / "host" / "lib" / "igmp-querier"
    assert installed.read_bytes() == play.read_bytes() and mode_of(installed) == 0o755
    assert len(uploads) == 1 and result["changed"] and result["changed_ids"] == ["settings:eth0", "code"]
    assert [e["path"] for e in result["found"]["lib"]] == [str(tmp_path / "host" / "lib" / n)
                                                           for n in ("eth0.conf", "igmp-querier")]

    done, result, uploads = playbook(tmp_path)
    assert done.returncode == 0 and uploads == [] and not result["changed"] and result["changed_ids"] == []

    installed.write_bytes(b"an older daemon")
    done, result, uploads = playbook(tmp_path)
    assert done.returncode == 0 and len(uploads) == 1 and result["changed_ids"] == ["code"]
    assert installed.read_bytes() == play.read_bytes()


def test_check_mode_uploads_nothing_and_reports_the_daemon_as_a_change(tmp_path, play):
    done, result, uploads = playbook(tmp_path, "--check")
    assert done.returncode == 0, done.stdout[-3000:]
    assert uploads == [] and result["changed"] and result["changed_ids"] == ["code", "settings:eth0"]
    assert os.listdir(str(tmp_path / "host")) == []


def test_a_missing_controller_file_is_a_clear_error(tmp_path, play):
    play.unlink()
    done, result, uploads = playbook(tmp_path)
    assert done.returncode != 0 and uploads == []
    assert "multicast.igmp.querier_files: %s/lib/igmp-querier: local_src '%s' is not a file on the controller" % (
        tmp_path / "host", play) in done.stdout, done.stdout[-3000:]
    assert os.listdir(str(tmp_path / "host")) == []
