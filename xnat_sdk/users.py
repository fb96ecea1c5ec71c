"""``session.users``: the users of the server, as a read-only mapping by login.

The listing is ``GET /data/users`` (one request, cached until ``clearcache()``). XNAT lists
only enabled accounts there, and refuses the list to non-admins on sites that restrict it
(``restrictUserListAccessToAdmins``): then the mapping is empty, as in xnatpy, and
:attr:`Users.refused` says so (a lookup names the refusal).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xnat_sdk._answers import answer_of, whole_number
from xnat_sdk.errors import XNATKeyError, listed_keys

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["User", "Users"]


@dataclass(frozen=True)
class User:
    """One XNAT user account."""

    id: int
    """The numeric ``xdat_user_id``."""
    login: str
    email: str
    first_name: str
    last_name: str
    enabled: bool = True
    """``/data/users`` only lists enabled accounts."""
    access_level: str | None = None
    """In a project's user list: the group's display name (``Owners``, ``Members``,
    ``Collaborators``); None in the site's list."""
    group: str | None = None
    """In a project's user list: the group ID (``P1_member``)."""
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    """The row as the server sent it (xnatpy's ``User.data``)."""

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}".strip()


def _user(row: Mapping[str, Any]) -> User:
    ident = whole_number(row.get("xdat_user_id"))
    return User(
        id=-1 if ident is None else ident,
        login=str(row.get("login") or ""),
        email=str(row.get("email") or ""),
        first_name=str(row.get("firstname") or ""),
        last_name=str(row.get("lastname") or ""),
        access_level=str(row["displayname"]) if row.get("displayname") else None,
        group=str(row["GROUP_ID"]) if row.get("GROUP_ID") else None,
        data=dict(row),
    )


class Users(Mapping[str, User]):
    """The server's users by login (``session.users['admin'].email``)."""

    def __init__(self, session: XNATSession, path: str = "/data/users") -> None:
        self._session = session
        self._path = path
        self._data: dict[str, User] | None = None
        self._refused = False
        self._generation = -1

    @property
    def xnat_session(self) -> XNATSession:
        """The session the listing came from."""
        return self._session

    def _users(self) -> dict[str, User]:
        session = self._session
        if (
            self._data is None
            or not session.caching
            or self._generation != session.cache_generation
        ):
            response = session.get(self._path, format="json", accepted_status=(200, 403))
            rows = []
            if response.status_code == 200:
                rows = answer_of(response).rows(numbers=("xdat_user_id",))
            self._refused = response.status_code == 403
            self._data = {user.login: user for user in map(_user, rows)}
            self._generation = session.cache_generation
        return self._data

    def clearcache(self) -> None:
        """Read the list again on next use."""
        self._data = None

    @property
    def refused(self) -> bool:
        """Whether the server refused the list (403: a site that lets only admins list its
        users, for a non-admin); the mapping is then empty. Reads the list if not read."""
        self._users()
        return self._refused

    @property
    def path(self) -> str:
        """The listing's REST path (``/data/users``, or a project's ``.../users``)."""
        return self._path

    @property
    def data(self) -> dict[str, User]:
        """The users by login (xnatpy's ``Users.data``)."""
        return dict(self._users())

    def __getitem__(self, login: str) -> User:
        users = self._users()
        try:
            return users[login]
        except KeyError:
            if self._refused:
                known = f"the server refuses {self._path} to this user: only admins list it"
            else:
                known = listed_keys(sorted(users)) if users else "none visible"
            raise XNATKeyError(login, f"no user with login {login!r} (known: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._users())

    def __len__(self) -> int:
        return len(self._users())

    def __repr__(self) -> str:
        return f"<Users {sorted(self._users())}>"
