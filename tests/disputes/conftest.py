import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test starts with empty private storage, so it can count the files it wrote."""
    settings.MEDIA_ROOT = str(tmp_path / "private")
    return tmp_path / "private"
