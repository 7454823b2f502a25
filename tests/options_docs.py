# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""The parts of the docs and the role that the daemon's option table (options.py) determines,
generated between markers so that a new option is one row there:

- README.md: the CLI table ("Running the daemon by hand") and the role table ("Role variables"),
- roles/querier/README.md: its variable table,
- roles/querier/meta/argument_specs.yml: the option entries and the per-interface keys,
- roles/querier/defaults/main.yml: the option variables.

Rows and entries that are not options (``--version``, ``igmp_querier_state``, ...) stay
hand-written, in place, in the same tables. ``python -m tests.options_docs`` (from the checkout
root) rewrites the files; ``--check`` only says which are stale (tests/unit/roles/test_options_docs.py).
"""

import os
import re
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

try:
    from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier import options
    from ansible_collections.multicast.igmp.plugins.module_utils.igmp_querier.timers import human
except ImportError:  # run as a script: the daemon's package from this checkout
    sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))
    from igmp_querier import options  # noqa: E402 pylint: disable=import-error
    from igmp_querier.timers import human  # noqa: E402 pylint: disable=import-error

COMMAND = "python -m tests.options_docs"
BEGIN = "BEGIN options_docs: %s (generated from options.py by `%s`, do not edit)"
END = "END options_docs: %s"


class StaleError(Exception):
    """A file whose markers are missing or malformed."""


def can_be_off(option):
    """The role variable also takes false or "off" for "not given" (a choice without a default)."""
    return option.default is None and bool(option.choices) and option.kind != "switch"


def role_type(option):
    return "raw" if can_be_off(option) else option.role_type


def markdown(text):
    """Ansible markup (C(), V(), O()) as Markdown code."""
    return re.sub(r"\b[CVO]\(([^()]*(?:\([^()]*\)[^()]*)*)\)", r"`\1`", text)


def _literal(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return human(value)
    return str(value)


def _doc(option):
    if not option.doc:
        raise StaleError("options.py: %s is a role option without doc" % option.name)
    return option.doc_text


# --- roles/querier/defaults/main.yml -----------------------------------------------------------

def defaults_lines():
    lines = []
    for option in options.ROLE_OPTIONS:
        notes = [option.flag]
        if option.low is not None and option.high is not None:
            notes.append(options.range_text(option))
        elif option.unit:
            notes.append(option.unit)
        if option.choices:
            notes.append(("off, " if can_be_off(option) else "") + " or ".join(str(c) for c in option.choices))
        comment = ", ".join(notes)
        if option.default is None:
            comment += "; unset: " + (option.default_doc or "the daemon's default")
        value = "" if option.default is None else " " + _literal(option.default)
        lines.append("%s:%s  # %s" % (option.variable, value, comment))
    return lines


# --- roles/querier/meta/argument_specs.yml -----------------------------------------------------

def _yaml_items(paragraphs, indent):
    lines = []
    for paragraph in paragraphs:
        if ": " in paragraph or " #" in paragraph or paragraph[:1] in "&*!|>'\"%@`[]{},?:-#":
            raise StaleError("doc paragraph needs YAML quoting (avoid ': ' and ' #'): %r" % paragraph)
        lines += textwrap.wrap(paragraph, 100, initial_indent=" " * indent + "- ",
                               subsequent_indent=" " * (indent + 2), break_on_hyphens=False, break_long_words=False)
    return lines


def spec_lines():
    lines = []
    for option in options.ROLE_OPTIONS:
        lines += ["      %s:" % option.variable, "        description:"]
        paragraphs = _doc(option)
        if option.default is None and option.default_doc:
            paragraphs += ("Unset, %s." % option.default_doc,)
        lines += _yaml_items(paragraphs, 10)
        lines.append("        type: %s" % role_type(option))
        if option.choices and not can_be_off(option):
            lines.append("        choices: [%s]" % ", ".join(_literal(c) for c in option.choices))
        if option.default is not None:
            lines.append("        default: %s" % _literal(option.default))
    return lines


def interface_keys():
    names = ["%s(%s)" % ("C", option.name) for option in options.ROLE_OPTIONS]
    return ", ".join(names[:-1]) + " and " + names[-1]


def spec_interface_keys_lines():
    return _yaml_items(["The per-interface settings are %s." % interface_keys()], 10)


# --- the README tables -------------------------------------------------------------------------

def _cli_cell(option):
    words = []
    for flag in option.flags:
        words.append(flag)
    value = ""
    if option.kind != "switch":
        value = " " + (option.metavar or ("{%s}" % ",".join(str(c) for c in option.choices) if option.choices
                                          else option.name.upper()))
    return ", ".join("`%s`" % flag for flag in words[:-1]) + (", " if len(words) > 1 else "") + \
        "`%s%s`" % (words[-1], value)


def _cli_default(option):
    if option.required:
        return "required"
    if option.kind == "switch":
        return "off"
    if isinstance(option.default, str):
        return "`%s`" % option.default
    if option.default is not None:
        return human(option.default)
    return option.default_doc or "none"


def _without_default(text):
    text = re.sub(r" ?\(default: [^;)]*\)", "", text)
    return re.sub(r"default: [^;)]*; ", "", text)


def cli_rows():
    return {option.flag: "| %s | %s | %s |" % (
        _cli_cell(option), _cli_default(option), _md_escape(_without_default(option.help_text)))
        for option in options.OPTIONS}


def _md_escape(text, code=False):
    """Plain text for a table cell: no cell breaks, no HTML tags (code spans are left alone)."""
    text = text.replace("|", "\\|")
    return text if code else text.replace("<", "\\<")


def _role_default(option):
    if option.default is None:
        return "unset: " + (option.default_doc or "the daemon's default")
    return "`%s`" % _literal(option.default)


def role_rows():
    return {option.variable: "| `%s` | %s | %s |" % (
        option.variable, _role_default(option), _md_escape(markdown(" ".join(_doc(option))), code=True))
        for option in options.ROLE_OPTIONS}


def _cli_key(row):
    found = re.findall(r"--[a-z-]+", row.split("|")[1])
    return found[-1] if found else None


def _role_key(row):
    match = re.match(r"\|\s*`([^`]+)`", row)
    return match.group(1) if match else None


def merge_table(old_lines, generated, key):
    """The table ``old_lines`` with the rows of ``generated`` (key -> row, in option order) in
    place of its rows of the same key; other rows stay where they are; a new option's row goes
    after the row of the option before it."""
    at = [i for i, line in enumerate(old_lines) if line.startswith("|")]
    table = old_lines[at[0]:at[-1] + 1] if at else []
    if len(table) < 2 or not table[1].startswith("|---") or not all(line.startswith("|") for line in table):
        raise StaleError("no Markdown table between the markers")
    head, rows = table[:2], table[2:]
    out = [generated.get(key(row), row) for row in rows]
    present = [key(row) for row in rows]
    order = list(generated)
    for position, name in enumerate(order):
        if name in present:
            continue
        before = [out.index(generated[k]) for k in order[:position] if generated[k] in out]
        out.insert(before[-1] + 1 if before else 0, generated[name])
    return old_lines[:at[0]] + head + out + old_lines[at[-1] + 1:]


def interfaces_row(lines):
    """The igmp_querier_interfaces row lists the per-interface keys (the role table's options)."""
    keys = ", ".join("`%s`" % option.name for option in options.ROLE_OPTIONS)
    return [re.sub(r"any of (`\w+`, )*`\w+`", "any of " + keys, line) if _role_key(line) == "igmp_querier_interfaces"
            else line for line in lines]


# --- the files ---------------------------------------------------------------------------------

def _replace(text, name, comment, render):
    """``text`` with the lines between the markers ``name`` replaced by ``render(old lines)``."""
    begin, end = comment % (BEGIN % (name, COMMAND)), comment % (END % name)
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.strip() == begin.strip()]
    ends = [i for i, line in enumerate(lines) if line.strip() == end.strip()]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise StaleError("markers %r / %r missing or repeated" % (begin.strip(), end.strip()))
    first, last = starts[0], ends[0]
    return "\n".join(lines[:first + 1] + render(lines[first + 1:last]) + lines[last:])


HTML = "<!-- %s -->"

#: (file, marker name, comment style, render(old lines) -> new lines)
BLOCKS = (
    ("README.md", "cli-table", HTML, lambda old: merge_table(old, cli_rows(), _cli_key)),
    ("README.md", "role-table", HTML, lambda old: interfaces_row(merge_table(old, role_rows(), _role_key))),
    ("roles/querier/README.md", "role-table", HTML, lambda old: merge_table(old, role_rows(), _role_key)),
    ("roles/querier/meta/argument_specs.yml", "interface-keys", "          # %s",
     lambda old: spec_interface_keys_lines()),
    ("roles/querier/meta/argument_specs.yml", "options", "      # %s", lambda old: spec_lines()),
    ("roles/querier/defaults/main.yml", "options", "# %s", lambda old: defaults_lines()),
)


def generate(path, text):
    """``text`` (the file ``path``, relative to the checkout) with its generated blocks renewed."""
    for name_of_file, name, comment, render in BLOCKS:
        if name_of_file == path:
            try:
                text = _replace(text, name, comment, render)
            except StaleError as exc:
                raise StaleError("%s: %s" % (path, exc)) from exc
    return text


def files():
    return sorted({path for path, _name, _comment, _render in BLOCKS})


def stale(root=None):
    """The files whose generated blocks differ from the option table."""
    root = root or REPO
    found = []
    for path in files():
        with open(os.path.join(root, path), encoding="utf-8") as handle:
            text = handle.read()
        if generate(path, text) != text:
            found.append(path)
    return found


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    try:
        paths = stale()
        if not check:
            for path in paths:
                full = os.path.join(REPO, path)
                with open(full, encoding="utf-8") as handle:
                    text = handle.read()
                with open(full, "w", encoding="utf-8") as handle:
                    handle.write(generate(path, text))
    except StaleError as exc:
        sys.stderr.write("options_docs: %s\n" % exc)
        return 2
    for path in paths:
        print(("stale: %s" if check else "rewrote %s") % path)
    return 1 if check and paths else 0


if __name__ == "__main__":
    sys.exit(main())
