"""USB identifiers of OpenSBS devices.

VID 0x1209 is pid.codes' open-hardware vendor id; the product ids below are this project's
(to be registered with pid.codes before boards ship).
"""

OPENSBS_VID = 0x1209
CONTROLLER_PID = 0x05B0  # controller board, vendor bulk interface (or CDC serial)
CAMERA_BRIDGE_PID = 0x05B1  # FPGA USB 3 camera bridge

BULK_OUT_ENDPOINT = 0x01
BULK_IN_ENDPOINT = 0x81
