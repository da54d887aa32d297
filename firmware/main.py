"""Board entry point: start the OpenSBS controller firmware."""

from opensbs_fw import app

app.main()
