"""Where credentials come from (:mod:`xnat_sdk.auth`): arguments, environment, netrc, prompt;
alias tokens; and that a :class:`Credentials` keeps its password out of sight."""

from __future__ import annotations

import getpass
import re
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xnat_sdk.auth import (
    Credentials,
    is_alias_token,
    netrc_credentials,
    netrc_path,
    resolve_credentials,
    server_from_env,
)
from xnat_sdk.errors import XNATValueError

SERVER = "https://xnat.example.org:8443"
PLAIN_SERVER = "https://xnat.example.org"
ENV_NAMES = (
    "XNATPY_HOST",
    "XNAT_HOST",
    "XNATPY_USER",
    "XNAT_USER",
    "XNATPY_PASS",
    "XNAT_PASS",
    "NETRC",
)
UUID_TEXT = re.compile(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")


class Prompt:
    """A stand-in for getpass.getpass that records its prompts."""

    def __init__(self, answer: str | BaseException) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def __call__(self, prompt: str = "Password: ", stream: object = None) -> str:
        self.prompts.append(prompt)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Prompt:
    """No credential variables, a home without .netrc, and a prompt that must not be used."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    prompt = Prompt(AssertionError("getpass must not be called"))
    monkeypatch.setattr(getpass, "getpass", prompt)
    return prompt


def write_netrc(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def netrc_file(tmp_path: Path) -> Path:
    return write_netrc(
        tmp_path / "netrc",
        "machine xnat.example.org:8443 login portuser password portpw\n"
        "machine xnat.example.org login hostuser password hostpw\n"
        "machine other.example.org login otheruser password otherpw\n",
    )


# -- resolution order ---------------------------------------------------------------------------


def test_arguments_come_first(monkeypatch: pytest.MonkeyPatch, netrc_file: Path) -> None:
    monkeypatch.setenv("XNATPY_USER", "envuser")
    monkeypatch.setenv("XNATPY_PASS", "envpw")
    creds = resolve_credentials(SERVER, "alice", "secret", netrc_file=netrc_file)
    assert creds == Credentials("alice", "secret", "argument")
    assert creds.user == "alice"
    assert creds.reveal_password() == "secret"
    assert creds.source == "argument"
    assert not creds.anonymous


def test_xnatpy_variables_before_xnat_variables(
    monkeypatch: pytest.MonkeyPatch, netrc_file: Path
) -> None:
    monkeypatch.setenv("XNATPY_USER", "pyuser")
    monkeypatch.setenv("XNAT_USER", "xuser")
    monkeypatch.setenv("XNATPY_PASS", "pypw")
    monkeypatch.setenv("XNAT_PASS", "xpw")
    creds = resolve_credentials(SERVER, None, None, netrc_file=netrc_file)
    assert creds == Credentials("pyuser", "pypw", "environment")


def test_xnat_variables_are_used_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XNAT_USER", "xuser")
    monkeypatch.setenv("XNAT_PASS", "xpw")
    assert resolve_credentials(SERVER, None, None) == Credentials("xuser", "xpw", "environment")


def test_empty_variable_falls_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XNATPY_USER", "")
    monkeypatch.setenv("XNAT_USER", "xuser")
    monkeypatch.setenv("XNAT_PASS", "xpw")
    assert resolve_credentials(SERVER, None, None).user == "xuser"


def test_user_argument_with_password_from_environment(
    monkeypatch: pytest.MonkeyPatch, netrc_file: Path
) -> None:
    monkeypatch.setenv("XNAT_PASS", "xpw")
    creds = resolve_credentials(SERVER, "alice", None, netrc_file=netrc_file)
    assert creds == Credentials("alice", "xpw", "argument+environment")


def test_environment_password_skips_netrc(
    monkeypatch: pytest.MonkeyPatch, netrc_file: Path
) -> None:
    monkeypatch.setenv("XNATPY_PASS", "envpw")
    # a password but no user: the netrc is not read, and nobody is known -> anonymous
    creds = resolve_credentials(SERVER, None, None, netrc_file=netrc_file)
    assert creds == Credentials(None, None, "anonymous")


def test_server_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert server_from_env() is None
    monkeypatch.setenv("XNAT_HOST", "https://b.example.org")
    assert server_from_env() == "https://b.example.org"
    monkeypatch.setenv("XNATPY_HOST", "https://a.example.org")
    assert server_from_env() == "https://a.example.org"


# -- netrc --------------------------------------------------------------------------------------


def test_netrc_file_argument(netrc_file: Path) -> None:
    creds = resolve_credentials(SERVER, None, None, netrc_file=netrc_file)
    assert creds == Credentials("portuser", "portpw", "netrc")


def test_netrc_file_argument_as_str(netrc_file: Path) -> None:
    creds = resolve_credentials(SERVER, None, None, netrc_file=str(netrc_file))
    assert creds.user == "portuser"


def test_netrc_from_environment_variable(monkeypatch: pytest.MonkeyPatch, netrc_file: Path) -> None:
    monkeypatch.setenv("NETRC", str(netrc_file))
    assert netrc_path() == netrc_file
    creds = resolve_credentials(SERVER, None, None)
    assert creds == Credentials("portuser", "portpw", "netrc")


def test_netrc_argument_beats_environment_variable(
    monkeypatch: pytest.MonkeyPatch, netrc_file: Path, tmp_path: Path
) -> None:
    other = write_netrc(tmp_path / "other", "machine xnat.example.org login envfile password x\n")
    monkeypatch.setenv("NETRC", str(other))
    assert netrc_path(netrc_file) == netrc_file
    assert resolve_credentials(SERVER, None, None, netrc_file=netrc_file).user == "portuser"
    assert resolve_credentials(SERVER, None, None).user == "envfile"


def test_netrc_in_home(netrc_file: Path) -> None:
    home = Path.home()
    assert netrc_path() == home / ".netrc"
    write_netrc(home / ".netrc", netrc_file.read_text())
    assert resolve_credentials(SERVER, None, None) == Credentials("portuser", "portpw", "netrc")


def test_host_port_entry_before_host_entry(netrc_file: Path) -> None:
    assert netrc_credentials(SERVER, netrc_file) == ("portuser", "portpw")
    # without a port only the host entry fits
    assert netrc_credentials(PLAIN_SERVER, netrc_file) == ("hostuser", "hostpw")
    # a port without its own entry falls back to the host entry
    assert netrc_credentials("https://xnat.example.org:9999/xnat", netrc_file) == (
        "hostuser",
        "hostpw",
    )
    assert netrc_credentials("https://other.example.org/", netrc_file) == (
        "otheruser",
        "otherpw",
    )
    assert netrc_credentials("https://unknown.example.org/", netrc_file) is None


def test_host_port_order_does_not_depend_on_file_order(tmp_path: Path) -> None:
    path = write_netrc(
        tmp_path / "netrc",
        "machine xnat.example.org login hostuser password hostpw\n"
        "machine xnat.example.org:8443 login portuser password portpw\n",
    )
    assert netrc_credentials(SERVER, path) == ("portuser", "portpw")


def test_netrc_entry_without_password(tmp_path: Path) -> None:
    path = write_netrc(tmp_path / "netrc", "machine xnat.example.org login nopw\n")
    assert netrc_credentials(PLAIN_SERVER, path) == ("nopw", "")


def test_missing_netrc_file_means_anonymous(tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    assert netrc_credentials(SERVER, missing) is None
    creds = resolve_credentials(SERVER, None, None, netrc_file=missing)
    assert creds == Credentials(None, None, "anonymous")
    assert creds.anonymous
    assert creds.reveal_password() is None


def test_malformed_netrc_raises(tmp_path: Path) -> None:
    bad = write_netrc(tmp_path / "bad", "bogus xnat.example.org login u password p\n")
    with pytest.raises(XNATValueError, match="cannot parse netrc file") as info:
        resolve_credentials(SERVER, None, None, netrc_file=bad)
    assert str(bad) in str(info.value)


def test_malformed_netrc_via_environment_raises(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = write_netrc(
        tmp_path / "bad", "machine xnat.example.org login u password p frobnicate x\n"
    )
    monkeypatch.setenv("NETRC", str(bad))
    with pytest.raises(XNATValueError, match="cannot parse netrc"):
        resolve_credentials(SERVER, None, None)


def test_netrc_entry_for_the_given_user(netrc_file: Path) -> None:
    creds = resolve_credentials(SERVER, "portuser", None, netrc_file=netrc_file)
    assert creds == Credentials("portuser", "portpw", "netrc")


def test_netrc_entry_for_another_user_leads_to_the_prompt(
    monkeypatch: pytest.MonkeyPatch, netrc_file: Path
) -> None:
    prompt = Prompt("typed")
    monkeypatch.setattr(getpass, "getpass", prompt)
    creds = resolve_credentials(SERVER, "alice", None, netrc_file=netrc_file)
    assert creds == Credentials("alice", "typed", "argument+prompt")
    assert len(prompt.prompts) == 1
    assert "alice" in prompt.prompts[0] and SERVER in prompt.prompts[0]


def test_host_entry_before_default_entry(tmp_path: Path) -> None:
    path = write_netrc(
        tmp_path / "netrc",
        "machine xnat.example.org login hostuser password hostpw\n"
        "default login defuser password defpw\n",
    )
    assert netrc_credentials(SERVER, path) == ("hostuser", "hostpw")


def test_default_entry_is_used_for_unknown_hosts(tmp_path: Path) -> None:
    path = write_netrc(
        tmp_path / "netrc",
        "machine xnat.example.org login hostuser password hostpw\n"
        "default login defuser password defpw\n",
    )
    assert netrc_credentials("https://elsewhere.example.org", path) == ("defuser", "defpw")
    assert netrc_credentials(PLAIN_SERVER, path) == ("hostuser", "hostpw")


# -- the prompt ---------------------------------------------------------------------------------


def test_prompt_for_a_user_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    prompt = Prompt("typed")
    monkeypatch.setattr(getpass, "getpass", prompt)
    monkeypatch.setenv("XNATPY_USER", "envuser")
    creds = resolve_credentials(SERVER, None, None)
    assert creds == Credentials("envuser", "typed", "environment+prompt")
    assert prompt.prompts and "envuser" in prompt.prompts[0]


@pytest.mark.parametrize("error", [EOFError(), OSError("no tty")])
def test_no_terminal_for_the_prompt(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    monkeypatch.setattr(getpass, "getpass", Prompt(error))
    with pytest.raises(XNATValueError, match="no password for user 'alice'") as info:
        resolve_credentials(SERVER, "alice", None)
    assert SERVER in str(info.value)
    assert "no terminal" in str(info.value)
    assert info.value.__cause__ is error


def test_prompt_is_not_used_when_the_password_is_known(clean_env: Prompt) -> None:
    assert resolve_credentials(SERVER, "alice", "pw").source == "argument"
    assert clean_env.prompts == []


# -- alias tokens -------------------------------------------------------------------------------


@given(st.uuids())
def test_uuid_strings_are_alias_tokens(value: uuid.UUID) -> None:
    assert is_alias_token(str(value))
    assert is_alias_token(str(value).upper())


def test_uuid4_is_an_alias_token() -> None:
    for _ in range(20):
        assert is_alias_token(str(uuid.uuid4()))


@pytest.mark.parametrize(
    "user",
    [
        "",
        "admin",
        "12345678-1234-1234-1234-12345678901",  # one digit short
        "12345678-1234-1234-1234-1234567890123",  # one digit long
        "12345678123412341234123456789012",  # no dashes
        "g2345678-1234-1234-1234-123456789012",  # not hex
        "{12345678-1234-1234-1234-123456789012}",
        " 12345678-1234-1234-1234-123456789012",
    ],
)
def test_non_uuids_are_not_alias_tokens(user: str) -> None:
    assert not is_alias_token(user)


@given(st.text())
def test_random_text_is_not_an_alias_token(user: str) -> None:
    assert is_alias_token(user) == (UUID_TEXT.fullmatch(user) is not None)


@given(st.uuids(), st.text(min_size=1).filter(lambda s: s != "\n"))
def test_uuid_with_a_suffix_is_not_an_alias_token(value: uuid.UUID, suffix: str) -> None:
    assert not is_alias_token(str(value) + suffix)


def test_uuid_with_a_trailing_newline_is_not_an_alias_token() -> None:
    assert not is_alias_token(str(uuid.uuid4()) + "\n")


# -- the password stays hidden ------------------------------------------------------------------


PASSWORD = "s3cr3t-P4ssw0rd!"


def test_repr_hides_the_password() -> None:
    creds = Credentials("alice", PASSWORD, "argument")
    assert PASSWORD not in repr(creds)
    assert PASSWORD not in str(creds)
    assert repr(creds) == "Credentials(user='alice', password=<redacted>, source='argument')"
    assert creds.reveal_password() == PASSWORD


def test_no_instance_dict_and_slot_values_hide_the_password() -> None:
    creds = Credentials("alice", PASSWORD, "argument")
    assert not hasattr(creds, "__dict__")
    with pytest.raises(TypeError):
        vars(creds)
    for slot in Credentials.__slots__:
        value = getattr(creds, slot)
        assert value != PASSWORD
        assert PASSWORD not in repr(value)
        assert PASSWORD not in str(value)
    assert not hasattr(creds, "password")


def test_resolved_credentials_hide_the_password(netrc_file: Path) -> None:
    creds = resolve_credentials(SERVER, None, None, netrc_file=netrc_file)
    assert "portpw" not in repr(creds)
    assert all("portpw" not in repr(getattr(creds, s)) for s in Credentials.__slots__)
    assert creds.reveal_password() == "portpw"


@given(st.text(min_size=1), st.text(min_size=4))
def test_repr_never_contains_the_password(user: str, password: str) -> None:
    creds = Credentials(user, password, "argument")
    assert creds.reveal_password() == password
    shown = f"Credentials(user={user!r}, password=<redacted>, source='argument')"
    assert repr(creds) == shown


def test_equality_includes_the_password() -> None:
    assert Credentials("a", "x", "argument") == Credentials("a", "x", "argument")
    assert Credentials("a", "x", "argument") != Credentials("a", "y", "argument")
    assert Credentials("a", "x", "argument") != Credentials("a", "x", "netrc")
    assert Credentials("a", "x", "argument") != ("a", "x", "argument")
    with pytest.raises(TypeError):
        hash(Credentials("a", "x", "argument"))


def test_anonymous_property() -> None:
    assert Credentials(None, None, "anonymous").anonymous
    assert not Credentials("a", None, "argument").anonymous
