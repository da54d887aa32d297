"""Settings every test shares: runs keep their run counter (run/run_number.py) in a temporary
state directory of their own, never the user's. One directory per session, per module and per
test, so a fixture's run and a test's run are each numbered 1 and compare byte for byte."""

from collections.abc import Iterator

import pytest

STATE_ENV = "OPENSBS_STATE_DIR"


@pytest.fixture(scope="session", autouse=True)
def _session_state_dir(tmp_path_factory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STATE_ENV, str(tmp_path_factory.mktemp("session-state")))
        yield


@pytest.fixture(scope="module", autouse=True)
def _module_state_dir(tmp_path_factory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STATE_ENV, str(tmp_path_factory.mktemp("module-state")))
        yield


@pytest.fixture(autouse=True)
def _test_state_dir(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv(STATE_ENV, str(tmp_path_factory.mktemp("state")))
