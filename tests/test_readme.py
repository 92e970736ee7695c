"""The README's checks table is the registry's, and its commands exist."""
import os
import re

from scanner.report.catalogue import markdown_table as checks_table

README = os.path.join(os.path.dirname(os.path.dirname(__file__)), "README.md")


def test_checks_table_matches_the_registry():
    text = open(README, encoding="utf-8").read()
    table = re.search(r"<!-- checks-table:start -->\n(.*?)\n<!-- checks-table:end -->", text,
                      re.S)
    assert table and table.group(1) == checks_table(), "run: dscan checks --markdown"


def test_the_sample_image_list_gives_what_the_readme_says(capsys, monkeypatch):
    from scanner.cli import main

    monkeypatch.chdir(os.path.dirname(README))
    assert main(["images", "sample_data/images/train_list.txt", "--root-folder",
                 "sample_data/images/", "--no-progress", "--json", "-"]) == 1
    import json
    report = json.loads(capsys.readouterr().out)
    assert {(f["code"], f["index"]) for f in report["findings"]} == \
        {("DS202", 3), ("DS007", 9), ("DS008", 11), ("DS802", 0)}


def _table_flags(text: str, header: str) -> list[str]:
    """The options named in the first column of the README table under `header`."""
    start = text.index(header)
    rows = text[start:text.index("\n\n", start)].splitlines()[2:]
    return [flag for row in rows for flag in re.findall(r"(--?[a-z][a-z0-9-]*)",
                                                       row.split(" | ")[0])]


def test_the_option_tables_show_the_common_options_once_and_every_scan_option():
    import argparse

    from scanner.cli import build_parser

    text = open(README, encoding="utf-8").read()
    common = _table_flags(text, "| common option | meaning |")
    scan = _table_flags(text, "| scan option")
    assert sorted(common) == sorted(["--json", "--html", "--no-progress", "-q", "-v",
                                     "--fail-on", "--select", "--ignore"])
    assert not set(common) & set(scan) and len(scan) == len(set(scan))
    commands = next(a for a in build_parser()._actions
                    if isinstance(a, argparse._SubParsersAction)).choices
    images_only = {"--root-folder", "--gray", "--resize"}  # the note under the table
    for name in ("lmdb", "leveldb", "hdf5", "images"):
        for action in commands[name]._actions:
            long_flags = [f for f in action.option_strings if f.startswith("--")]
            if long_flags and long_flags[0] not in ("--help", *images_only):
                assert set(action.option_strings) & set(common + scan), (name, long_flags)
