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
