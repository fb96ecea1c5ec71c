"""The ``/xapi/users`` API (XNAT 1.8 ``UsersApi``): :mod:`.routes`."""
