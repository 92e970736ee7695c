"""The README's checks table is the registry's, and its commands exist."""
import os
import re

from scanner.cli import checks_table

README = os.path.join(os.path.dirname(os.path.dirname(__file__)), "README.md")


def test_checks_table_matches_the_registry():
    text = open(README, encoding="utf-8").read()
    table = re.search(r"<!-- checks-table:start -->\n(.*?)\n<!-- checks-table:end -->", text,
                      re.S)
    assert table and table.group(1) == checks_table(), "run: dscan checks --markdown"
