"""_systemd: the one home of the querier units' names, escaping and systemctl output, used by
igmp_status, the on-host ``igmp-querier status`` command and the role's ``querier_unit`` filter."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.multicast.igmp.plugins.filter.systemd_units import FilterModule, querier_unit
from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import _systemd, status

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")


def test_systemctl_output_parsing():
    show = "LoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=enabled\n"
    assert _systemd.parse_show(show) == {"LoadState": "loaded", "ActiveState": "failed",
                                         "SubState": "failed", "UnitFileState": "enabled"}
    listing = ("igmp-querier@eth0.service   loaded active running IGMP querier on eth0\n"
               "igmp-querier@br\\x2dlan.service loaded failed failed  IGMP querier on br-lan\n"
               "\u25cf igmp-querier@eth1.service loaded failed failed IGMP querier on eth1\n")
    assert _systemd.parse_list_units(listing) == {"eth0", "br-lan", "eth1"}
    assert _systemd.instance_of("igmp-querier@.service") is None
    assert _systemd.instance_of("sshd.service") is None
    assert _systemd.instance_of("/etc/systemd/system/multi-user.target.wants/igmp-querier@eth0.service") == "eth0"


@pytest.mark.parametrize("name, escaped", [
    ("eth0", "eth0"), ("br-lan", "br\\x2dlan"), ("eth0.100", "eth0.100"), (".hidden", "\\x2ehidden"), ("a@b", "a\\x40b"),
])
def test_unit_names_are_escaped_as_systemd_escapes_them(name, escaped):
    assert _systemd.unit_name(name) == "igmp-querier@%s.service" % escaped
    assert _systemd.instance_of(_systemd.unit_name(name)) == name
    if shutil.which("systemd-escape"):  # the real thing, where it is installed
        assert subprocess.run(["systemd-escape", name], capture_output=True, check=False, text=True).stdout.strip() == escaped


def test_unit_files_and_enabled_instances(tmp_path):
    etc = tmp_path / "etc" / "systemd" / "system"
    wants = etc / "multi-user.target.wants"
    wants.mkdir(parents=True)
    (etc / "igmp-querier@.service").write_text("[Service]\n")
    (wants / "igmp-querier@eth0.service").symlink_to(etc / "igmp-querier@.service")
    (etc / "igmp-querier@eth2.service.d").mkdir()
    (wants / "igmp-querier@br\\x2dlan.service").symlink_to(etc / "igmp-querier@.service")
    assert _systemd.enabled_instances(str(tmp_path)) == {"eth0", "br-lan"}
    assert _systemd.unit_files("br-lan", str(tmp_path)) == [str(wants / "igmp-querier@br\\x2dlan.service")]
    assert _systemd.unit_files("eth0", str(tmp_path)) == [str(wants / "igmp-querier@eth0.service")]
    assert _systemd.unit_files("eth2", str(tmp_path)) == [str(etc / "igmp-querier@eth2.service.d")]
    assert _systemd.unit_files("eth1", str(tmp_path)) == []


def test_non_ascii_names_round_trip_as_utf8_bytes():
    assert _systemd.unit_name("\u00e9th0") == "igmp-querier@\\xc3\\xa9th0.service"
    assert _systemd.instance_of(_systemd.unit_name("\u00e9th0")) == "\u00e9th0"


def test_the_header_says_private():
    with open(_systemd.__file__.replace(".pyc", ".py")) as handle:
        assert "PRIVATE" in handle.read(600)


def canned(replies):
    """A systemctl stand-in: argv -> (rc, out, err) from ``replies`` keyed by the subcommand."""
    calls = []

    def run(argv):
        calls.append(list(argv))
        return replies[argv[1]]
    return run, calls


def test_systemd_asks_systemctl_and_reads_its_answers():
    run, calls = canned({"show": (0, "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n", ""),
                         "list-units": (0, "igmp-querier@br\\x2dlan.service loaded active running x\n", "")})
    systemd = _systemd.Systemd("/bin/systemctl", run, running=True)
    assert systemd.available and systemd.note is None
    assert systemd.instances() == {"br-lan"}
    unit = systemd.show("br-lan")
    assert unit == {"name": "igmp-querier@br\\x2dlan.service", "load_state": "loaded", "active_state": "active",
                    "sub_state": "running", "unit_file_state": "enabled"}
    assert calls[1][:3] == ["/bin/systemctl", "show", "igmp-querier@br\\x2dlan.service"]
    assert _systemd.facts(unit) == {"active": True, "enabled": True}


def test_a_failing_systemctl_is_a_warning_not_an_answer():
    warnings = []
    run, _calls = canned({"show": (1, "", "boom\n"), "list-units": (1, "", "bus down\n")})
    systemd = _systemd.Systemd("/bin/systemctl", run, warnings.append, running=True)
    assert systemd.instances() == set() and systemd.show("eth0") is None
    assert warnings == ["systemctl list-units failed (rc 1): bus down",
                        "systemctl show igmp-querier@eth0.service failed (rc 1): boom"]
    assert _systemd.facts(None) == {"active": None, "enabled": None}


@pytest.mark.parametrize("systemctl, running, note", [
    ("/bin/systemctl", False, "systemd is not running on this host: active and enabled are unknown"),
    (None, True, "systemctl not found: active and enabled are unknown"),
])
def test_without_systemd_nothing_is_asked(systemctl, running, note):
    run, calls = canned({})
    systemd = _systemd.Systemd(systemctl, run, running=running)
    assert not systemd.available and systemd.note == note
    assert systemd.instances() == set() and systemd.show("eth0") is None and calls == []


def test_not_loaded_units_have_no_facts():
    assert _systemd.facts({"load_state": "not-found", "active_state": "inactive", "unit_file_state": ""}) == {
        "active": None, "enabled": None}
    assert _systemd.facts({"load_state": "loaded", "active_state": "failed", "unit_file_state": "disabled"}) == {
        "active": False, "enabled": False}


def test_the_status_command_finds_no_unit_for_an_unknown_interface():
    # the real systemctl where systemd runs: an unknown unit is not loaded, so no facts either way
    assert status.systemd_facts("nosuch-q0") == {"active": None, "enabled": None}


@pytest.mark.parametrize("name", ["eth0", "br-lan", "eth0.100", ".hidden", "a@b", "wlan_1:x"])
def test_the_role_filter_names_units_as_the_module_does(name):
    assert querier_unit(name) == _systemd.unit_name(name)
    assert FilterModule().filters()["querier_unit"] is querier_unit
    if shutil.which("systemd-escape"):
        escaped = subprocess.run(["systemd-escape", name], capture_output=True, check=False, text=True).stdout.strip()
        assert querier_unit(name) == "igmp-querier@%s.service" % escaped


@pytest.mark.skipif(not os.path.exists(ANSIBLE), reason="ansible is not installed next to this Python")
@pytest.mark.parametrize("bad", ["a/b", "x" * 16, "eth 0", 5])
def test_the_role_filter_refuses_what_is_no_interface_name(tmp_path, bad):
    # through ansible itself: in-process, loading controller code would change the module tests' warnings
    link = tmp_path / "collections" / "ansible_collections" / "multicast"
    link.mkdir(parents=True)
    os.symlink(REPO, str(link / "igmp"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([ANSIBLE, "localhost", "-c", "local", "-e", json.dumps({"name": bad}), "-m", "debug",
                           "-a", "msg={{ name | multicast.igmp.querier_unit }}"],
                          capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120, check=False)
    assert proc.returncode != 0
    assert "querier_unit: %r is not a Linux interface name" % (bad,) in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_the_role_filter_reads_unit_names_back():
    from ansible_collections.multicast.igmp.plugins.filter.systemd_units import querier_instance
    assert querier_instance("/etc/systemd/system/multi-user.target.wants/igmp-querier@br\\x2dlan.service") == "br-lan"
    assert querier_instance("igmp-querier@.service") is None
    assert querier_instance("sshd.service") is None
