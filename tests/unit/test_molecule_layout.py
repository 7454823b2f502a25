"""The molecule scenarios: where molecule 26 looks for a collection's scenarios, and the
container definition written once (extensions/molecule/shared/create.yml)."""

import glob
import os

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.path.join(REPO, "extensions", "molecule")
#: What a scenario's platform may say: who it is and where it sits; the rest is shared.
PLATFORM_KEYS = {"name", "groups", "networks", "docker_networks", "labels"}


def load(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return yaml.safe_load(handle)


def scenario_files():
    return sorted(glob.glob(os.path.join(SCENARIOS, "*", "molecule.yml")))


def test_scenarios_live_under_extensions_molecule_only():
    # A molecule/ directory at the root makes molecule 26 warn and ignore extensions/molecule/.
    assert not os.path.exists(os.path.join(REPO, "molecule"))
    names = [os.path.basename(os.path.dirname(path)) for path in scenario_files()]
    assert names == ["default", "failover", "lab", "probe"]


def test_every_scenario_creates_its_containers_with_the_shared_definition():
    base = load(".config", "molecule", "config.yml")
    assert base["provisioner"]["playbooks"]["create"] == "../shared/create.yml"
    shared = load("extensions", "molecule", "shared", "create.yml")[0]["vars"]["_igmp_test_platform"]
    assert shared["image"] == "multicast-igmp/debian12-systemd:latest"
    assert shared["command"] == "/lib/systemd/systemd"
    assert "privileged" not in shared
    for path in scenario_files():
        scenario = load(path)
        assert "create" not in scenario.get("provisioner", {}).get("playbooks", {}), path
        for platform in scenario["platforms"]:
            assert set(platform) <= PLATFORM_KEYS, (path, platform["name"])
