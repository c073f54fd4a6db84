"""The package's public surface stays what ``__all__`` says."""

import allyshare


def test_all_names_exist_and_nothing_public_is_unlisted() -> None:
    for name in allyshare.__all__:
        assert hasattr(allyshare, name), name
    public = {
        name
        for name in vars(allyshare)
        if not name.startswith("_") and not isinstance(getattr(allyshare, name), type(allyshare))
    }
    assert public <= set(allyshare.__all__)
