# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The generated parts of the docs and the role (tests/options_docs.py) are what the option table
says today, and the generator keeps the hand-written rows where they are."""

import os

import pytest
import yaml

from tests import options_docs

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))


@pytest.mark.parametrize("path", options_docs.files())
def test_generated_blocks_are_current(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as handle:
        text = handle.read()
    assert options_docs.generate(path, text) == text, (
        "%s is stale: the option table changed. Regenerate with `%s` (from the checkout root)"
        % (path, options_docs.COMMAND))


def test_generated_yaml_parses_and_keeps_the_hand_written_variables():
    spec = yaml.safe_load(open(os.path.join(REPO, "roles", "querier", "meta", "argument_specs.yml")).read())
    names = spec["argument_specs"]["main"]["options"]
    for hand in ("igmp_querier_state", "igmp_querier_interfaces", "igmp_querier_install_dir", "igmp_querier_metrics"):
        assert hand in names
    for option in options_docs.options.ROLE_OPTIONS:
        assert option.variable in names


def test_a_new_option_gets_a_row_after_the_one_before_it_and_hand_rows_stay():
    old = ["", "| variable | default | meaning |", "|---|---|---|", "| `hand_a` | x | y |",
           "| `opt_one` | old | old |", "| `hand_b` | x | y |", ""]
    generated = {"opt_one": "| `opt_one` | 1 | new |", "opt_two": "| `opt_two` | 2 | new |"}
    merged = options_docs.merge_table(old, generated, options_docs._role_key)  # pylint: disable=protected-access
    assert merged == ["", "| variable | default | meaning |", "|---|---|---|", "| `hand_a` | x | y |",
                      "| `opt_one` | 1 | new |", "| `opt_two` | 2 | new |", "| `hand_b` | x | y |", ""]


def test_missing_markers_are_an_error_naming_the_file():
    with pytest.raises(options_docs.StaleError, match="README.md: markers"):
        options_docs.generate("README.md", "no markers here\n")


def test_check_mode_reports_stale_files_and_writes_nothing(tmp_path, monkeypatch, capsys):
    for path in options_docs.files():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(os.path.join(REPO, path), encoding="utf-8") as handle:
            target.write_text(handle.read())
    defaults = tmp_path / "roles" / "querier" / "defaults" / "main.yml"
    defaults.write_text(defaults.read_text().replace("igmp_querier_robustness: 2", "igmp_querier_robustness: 3"))
    monkeypatch.setattr(options_docs, "REPO", str(tmp_path))
    assert options_docs.main(["--check"]) == 1
    assert "stale: roles/querier/defaults/main.yml" in capsys.readouterr().out
    assert "igmp_querier_robustness: 3" in defaults.read_text()
    assert options_docs.main([]) == 0
    assert "igmp_querier_robustness: 2  #" in defaults.read_text()
    assert options_docs.main(["--check"]) == 0
