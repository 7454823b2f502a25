"""The molecule scenarios: where molecule 26 looks for a collection's scenarios, the container
definition per Debian release written once (extensions/molecule/shared/vars/releases.yml), the mixed
fleet of the election scenarios, and the role's claimed platforms equal to what the tests boot."""

import glob
import os

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.path.join(REPO, "extensions", "molecule")
#: What a scenario's platform may say: who it is, where it sits and which release's image it boots;
#: the rest is shared.
PLATFORM_KEYS = {"name", "groups", "networks", "docker_networks", "labels", "image"}
#: The scenarios whose queriers must span every release (the election across releases).
MIXED = ("default", "failover")


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


def releases():
    return load("extensions", "molecule", "shared", "vars", "releases.yml")


def release_of(platform, data=None):
    """The Debian release a platform boots: the release whose image it names, else the default."""
    data = data or releases()
    if "image" not in platform:
        return data["default"]
    found = [number for number, release in data["releases"].items() if release["container"]["image"] == platform["image"]]
    assert found, "%s boots %s, none of releases.yml's images" % (platform["name"], platform["image"])
    return found[0]


def booted():
    """scenario -> {platform name: Debian release}."""
    data = releases()
    return {os.path.basename(os.path.dirname(path)): {p["name"]: release_of(p, data) for p in load(path)["platforms"]}
            for path in scenario_files()}


def test_every_scenario_creates_its_containers_with_the_shared_definition():
    base = load(".config", "molecule", "config.yml")
    assert base["provisioner"]["playbooks"]["create"] == "../shared/create.yml"
    create = load("extensions", "molecule", "shared", "create.yml")[0]
    assert "vars/releases.yml" in create["vars"]["_igmp_test_releases"]
    data = releases()
    assert data["container"]["command"] == "/lib/systemd/systemd"
    assert "privileged" not in data["container"]
    assert data["default"] == 12  # README and the lab name debian12-systemd
    for number, release in data["releases"].items():
        assert release["container"]["image"] == "multicast-igmp/debian%d-systemd:latest" % number
        assert set(release) == {"suite", "security_suite", "container"}, number
        assert release["security_suite"] == release["suite"] + "-security"
        assert "privileged" not in release["container"]
    for path in scenario_files():
        scenario = load(path)
        assert "create" not in scenario.get("provisioner", {}).get("playbooks", {}), path
        for platform in scenario["platforms"]:
            assert set(platform) <= PLATFORM_KEYS, (path, platform["name"])
            release_of(platform, data)


def test_bootstrap_builds_and_boots_the_releases_molecule_boots():
    with open(os.path.join(REPO, "scripts", "bootstrap")) as handle:
        bootstrap = handle.read()
    assert "RELEASES_FILE=$REPO/extensions/molecule/shared/vars/releases.yml" in bootstrap
    assert "debian12-systemd" not in bootstrap.replace("debian{11,12,13}", ""), "an image named outside releases.yml"
    # Every release is booted by some scenario: no image is built that no test uses.
    used = {release for platforms in booted().values() for release in platforms.values()}
    assert used == set(releases()["releases"])


def test_the_election_scenarios_mix_every_release():
    data = releases()
    for name in MIXED:
        scenario = load("extensions", "molecule", name, "molecule.yml")
        queriers = [p for p in scenario["platforms"] if "igmp_queriers" in p["groups"]]
        by_address = sorted(queriers, key=lambda p: tuple(int(x) for x in p["networks"][0]["ipv4_address"].split(".")))
        releases_of = [release_of(p, data) for p in by_address]
        assert sorted(releases_of) == sorted(data["releases"]), (name, releases_of)
        # The winner and the one that takes over run different releases.
        assert releases_of[0] != releases_of[1], (name, releases_of)


def test_meta_platforms_are_what_the_scenarios_boot():
    meta = load("roles", "querier", "meta", "main.yml")["galaxy_info"]["platforms"]
    data = releases()
    suites = sorted({data["releases"][release]["suite"] for platforms in booted().values()
                     for release in platforms.values()}, key=lambda suite: [
                         number for number, r in data["releases"].items() if r["suite"] == suite])
    claimed = {entry["name"]: entry["versions"] for entry in meta}
    assert claimed == {"Debian": suites}, "meta/main.yml claims %s; the scenarios boot Debian %s" % (claimed, suites)
