"""USB transports over pyusb: discovery, the control-link client, the image-link receiver."""
