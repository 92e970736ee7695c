import os
import shutil

import pytest

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture
def fixture_copy(tmp_path):
    """Copy a bundled Caffe-made dataset into tmp, so tests never touch the originals."""

    def copy(name: str) -> str:
        target = tmp_path / name
        shutil.copytree(os.path.join(FIXTURES, name), target)
        return str(target)

    return copy
