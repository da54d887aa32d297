"""The controller firmware (``firmware/``) and board files (``boards/``) shipped as package data.

In the source tree both are symbolic links to the top-level directories; a wheel carries the
files themselves, so ``opensbs board flash`` and the simulated board work from any install.
"""
