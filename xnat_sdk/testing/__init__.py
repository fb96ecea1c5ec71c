"""The local XNAT server: a real HTTP server with an embedded store that speaks XNAT REST."""
