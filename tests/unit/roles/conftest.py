# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The role tests' playbook runs: ansible-playbook on localhost (connection local) against this
checkout's collection, one inventory host per case, JSON results gathered per host."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
ROLE = os.path.join(REPO, "roles", "querier")


def find_ansible_playbook():
    for candidate in (os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), shutil.which("ansible-playbook")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _run_plays(tmp_path_factory, name, hosts, plays, forks=None):
    """Run ``plays`` ((playbook text, extra ansible-playbook arguments), ...) over the inventory
    ``hosts`` (name -> variables) with ``role_dir`` and ``out_dir`` as extra variables.
    Returns work (the directory), out, stats (of the first play), messages (each host's first
    failure message) and tasks (host -> [(task name, result)])."""
    playbook_cmd = find_ansible_playbook()
    if not playbook_cmd:
        pytest.skip("ansible-playbook is not installed next to this Python or on PATH")
    work = tmp_path_factory.mktemp(name)
    link = work / "collections" / "ansible_collections" / "multicast"
    link.mkdir(parents=True)
    os.symlink(REPO, str(link / "igmp"))
    out = work / "out"
    out.mkdir()
    (work / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(work / "collections"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOCAL_TEMP=str(work / "tmp"),
               ANSIBLE_INJECT_FACT_VARS="False")
    if forks:
        (work / "ansible.cfg").write_text("[defaults]\nforks = %d\n" % forks)
        env["ANSIBLE_CONFIG"] = str(work / "ansible.cfg")
    reports = []
    for index, (text, extra) in enumerate(plays):
        play = work / ("play%d.yml" % index)
        play.write_text(text)
        proc = subprocess.run([playbook_cmd, "-i", str(work / "inventory.yml"), str(play),
                               "-e", json.dumps({"role_dir": ROLE, "out_dir": str(out)})] + list(extra),
                              cwd=str(work), env=env, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=600)
        try:
            reports.append(json.loads(proc.stdout))
        except ValueError:
            pytest.fail("ansible-playbook printed no JSON (rc %d): %s %s" % (
                proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    messages, tasks = {}, {}
    for report in reports:
        for play in report["plays"]:
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    tasks.setdefault(host, []).append((task["task"]["name"], result))
                    for item in result.get("results", [result]):
                        if item.get("failed"):
                            messages.setdefault(host, item.get("msg"))
    return {"work": work, "out": out, "stats": reports[0]["stats"], "messages": messages, "tasks": tasks}


@pytest.fixture(scope="session")
def run_plays(tmp_path_factory):
    """``run_plays(name, hosts, plays, forks=None)``: see :func:`_run_plays`."""
    return lambda name, hosts, plays, forks=None: _run_plays(tmp_path_factory, name, hosts, plays, forks)
