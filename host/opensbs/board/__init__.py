"""Controller boards: board files and flashing (production side).

Public API::

    from opensbs.board.schema import load_board, BoardFileError   # checked board files
    from opensbs.board.flash import flash_board                    # mpy-cross + mpremote
    from opensbs.board.firmware import FIRMWARE_DIR, import_firmware

The simulated board (the real firmware core on plant models) lives with the simulation:
``opensbs.sim.board``.
"""
