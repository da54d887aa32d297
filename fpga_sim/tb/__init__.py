"""Bus models of the FPGA bench: Python drivers and monitors on the capture path's ports."""
