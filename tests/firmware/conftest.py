"""Fixtures: a simulated pico board and a host link to it."""

import pytest
from fw_link import HostLink
from opensbs.sim.board.sim_board import SimBoard


@pytest.fixture
def board() -> SimBoard:
    return SimBoard("pico", seed=1)


@pytest.fixture
def link(board: SimBoard) -> HostLink:
    host = HostLink(board)
    host.pump()
    return host
