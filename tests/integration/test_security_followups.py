"""The leftovers of a security review, each over HTTP against the local server: credentials
over plain http to another machine, redirects to another port, session ids in URLs."""

from __future__ import annotations

import _thread
import contextlib
import dataclasses
import errno
import io
import os
import pickle
import socket
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import xnat_sdk
from xnat_sdk import archives
from xnat_sdk._http import Origin
from xnat_sdk._urls import plain_http_off_machine
from xnat_sdk.archives import write_tar
from xnat_sdk.auth import Credentials
from xnat_sdk.connection import _warn_plain_http
from xnat_sdk.errors import (
    XNATAuthError,
    XNATDanglingLinkError,
    XNATLinkLoopWarning,
    XNATLinkOutsideError,
    XNATLocalFileError,
    XNATPlainHTTPWarning,
    XNATSkippedFilesWarning,
    XNATTokenWarning,
)
from xnat_sdk.services import TokenResult
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import Seeded

    from xnat_sdk.session import XNATSession


@pytest.fixture
def lan_url(server: LocalXNAT, monkeypatch: pytest.MonkeyPatch) -> str:
    """A server off this machine over plain http, reached without leaving it: the
    environment's proxy is the local server (which answers a proxied request, its target in
    absolute form, itself), so every byte goes to 127.0.0.1 while the SDK is asked for
    another host. (``.invalid`` never resolves: nothing goes out if the proxy is not used.)"""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.setenv("http_proxy", server.url)
    return "http://xnat.invalid"


@pytest.mark.parametrize(
    ("url", "exposed"),
    [
        ("http://127.0.0.1:8080", False),
        ("http://127.3.4.5", False),
        ("http://localhost:8080/xnat", False),
        ("http://LOCALHOST.", False),
        ("http://[::1]:8080", False),
        ("http://[::ffff:127.0.0.1]", False),
        ("https://xnat.example.org", False),
        ("https://192.0.2.7", False),
        ("http://xnat.example.org", True),
        ("http://192.0.2.7:8080", True),
        ("http://[fe80::1]", True),
        ("http://localhost.example.org", True),
        ("http://0.0.0.0:8080", True),
    ],
)
def test_what_counts_as_plain_http_off_this_machine(url: str, exposed: bool) -> None:
    assert plain_http_off_machine(url) is exposed


def test_a_password_or_token_over_plain_http_to_another_address_warns(lan_url: str) -> None:
    with pytest.warns(XNATPlainHTTPWarning) as caught:
        session = xnat_sdk.connect(lan_url, user="admin", password="admin")
    with session:
        (warning,) = caught
        assert isinstance(warning.message, XNATPlainHTTPWarning)
        assert warning.message.server == lan_url
        assert warning.message.sent == "the password of user 'admin'"
        assert "XNATPlainHTTPWarning" in str(warning.message)  # how to silence it
        assert warning.filename == __file__  # the caller's line, not the SDK's
        token = session.services.issue_token()
    with (
        pytest.warns(XNATPlainHTTPWarning, match="secret of an alias token") as caught,
        xnat_sdk.connect(lan_url, user=token.alias, password=token.secret) as by_token,
    ):
        by_token.services.invalidate_token(token)
    assert token.secret not in str(caught[0].message)


def test_guests_and_loopback_servers_never_warn(lan_url: str, server: LocalXNAT) -> None:
    local = server.url.replace("127.0.0.1", "localhost")
    with warnings.catch_warnings():
        warnings.simplefilter("error", XNATPlainHTTPWarning)
        for url in (server.url, local):
            with xnat_sdk.connect(url, user="admin", password="admin") as session:
                assert session.logged_in_user == "admin"
        xnat_sdk.connect(lan_url).disconnect()  # nothing secret is sent


@pytest.mark.parametrize(
    ("start", "target", "followed"),
    [
        ("http://xnat.org", "http://xnat.org:80/data", True),
        ("http://xnat.org", "https://xnat.org/data", True),  # the standard upgrade
        ("http://xnat.org:8080", "https://xnat.org:8443/data", False),  # Tomcat's
        ("http://xnat.org:8080", "https://xnat.org/data", False),
        ("http://xnat.org", "https://xnat.org:8443/data", False),
        ("https://xnat.org", "https://xnat.org:8443/data", False),
        ("https://xnat.org", "http://xnat.org/data", False),
        ("http://xnat.org", "https://www.xnat.org/data", False),
    ],
)
def test_credentials_follow_a_redirect_only_to_the_origin_named(
    start: str, target: str, followed: bool
) -> None:
    assert Origin.of(start).may_go_to(Origin.of(target)) is followed


def test_names_with_semicolons_survive_tomcat_path_parameters(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    """Tomcat cuts ``;name=value`` out of a raw path: the SDK sends ``;`` as ``%3B``."""
    resource = session.experiments[seeded.sessions["E1"]].resources.create("SEMI")
    resource.upload(b"semicolon", "a;b=c.txt")
    assert sorted(resource.files.keys()) == ["a;b=c.txt"]
    resource.files["a;b=c.txt"].download(tmp_path / "got.txt", verbose=False)
    assert (tmp_path / "got.txt").read_bytes() == b"semicolon"


@pytest.fixture
def linked_folder(tmp_path: Path) -> Path:
    """``data/`` holding a file, a link to it, a linked sub-folder inside, and a link to a
    'private key' outside ``data/``."""
    secret = tmp_path / "home" / ".ssh"
    secret.mkdir(parents=True)
    (secret / "id_rsa").write_bytes(b"PRIVATE KEY")
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "a.txt").write_bytes(b"a")
    (data / "alias.txt").symlink_to("sub/a.txt")
    (data / "again").symlink_to("sub", target_is_directory=True)
    (data / "loop").symlink_to(".", target_is_directory=True)
    (data / "key").symlink_to(secret / "id_rsa")
    return data


@pytest.mark.parametrize("method", ["per_file", "tgz_file"])
def test_an_upload_refuses_a_link_leading_outside_the_folder_before_sending(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, linked_folder: Path, method: str
) -> None:
    resource = session.experiments[seeded.sessions["E1"]].resources.create(f"LINK_{method}")
    server.faults.start_recording()
    with pytest.raises(XNATLinkOutsideError) as caught:
        resource.upload_dir(linked_folder, method=method)
    assert server.faults.recorded() == []  # nothing reached the server
    assert caught.value.path == str(linked_folder / "key")
    assert caught.value.target == os.path.realpath(linked_folder.parent / "home/.ssh/id_rsa")
    assert "follow_symlinks=True" in str(caught.value)
    resource.upload_dir(linked_folder.parent / "home", method=method)  # fine: no links
    assert sorted(resource.files.keys()) == [".ssh/id_rsa"]


def test_links_inside_the_folder_are_followed_and_outside_ones_when_asked(
    session: XNATSession, seeded: Seeded, linked_folder: Path, tmp_path: Path
) -> None:
    experiment = session.experiments[seeded.sessions["E1"]]
    asked = experiment.resources.create("LINK_ASKED")
    with pytest.warns(XNATLinkLoopWarning, match="1 symbolic link.*: loop$") as warned:
        asked.upload_dir(linked_folder, method="per_file", follow_symlinks=True)
    assert [w.message.links for w in warned if isinstance(w.message, XNATLinkLoopWarning)] == [
        ["loop"]
    ]
    assert sorted(asked.files.keys()) == ["again/a.txt", "alias.txt", "key", "sub/a.txt"]
    asked.files["key"].download(tmp_path / "key", verbose=False)
    assert (tmp_path / "key").read_bytes() == b"PRIVATE KEY"
    (linked_folder / "key").unlink()
    inside = experiment.resources.create("LINK_INSIDE")
    with pytest.warns(XNATLinkLoopWarning, match="loop"):
        inside.upload_dir(linked_folder, method="tgz_file")
    assert sorted(inside.files.keys()) == ["again/a.txt", "alias.txt", "sub/a.txt"]


def test_an_import_of_a_folder_refuses_a_link_leading_outside_it(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, linked_folder: Path
) -> None:
    server.faults.start_recording()
    with pytest.raises(XNATLinkOutsideError, match="id_rsa"):
        session.services.import_dir(linked_folder, project=seeded.project)
    assert server.faults.recorded() == []


def test_a_dangling_link_in_a_folder_to_send_is_refused_before_sending(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    """A link to nothing (its file moved or deleted) was left out silently: an upload or
    import of the folder went without that file. It is XNATDanglingLinkError before
    anything is sent, with follow_symlinks=True too; a loop deep below warns, naming it."""
    data = tmp_path / "dangling"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "a.dcm").write_bytes(b"a")
    (data / "sub" / "up").symlink_to("..", target_is_directory=True)
    (data / "sub" / "b.dcm").symlink_to(tmp_path / "moved" / "b.dcm")
    experiment = session.experiments[seeded.sessions["E1"]]
    resource = experiment.resources.create("DANGLING")
    server.faults.start_recording()
    for call in (
        lambda: resource.upload_dir(data, method="per_file"),
        lambda: resource.upload_dir(data, method="tgz_file", follow_symlinks=True),
        lambda: session.services.import_dir(data, project=seeded.project),
    ):
        with pytest.raises(XNATDanglingLinkError) as caught:
            call()
        assert caught.value.path == str(data / "sub" / "b.dcm")
        assert caught.value.target == os.path.realpath(tmp_path / "moved" / "b.dcm")
        assert "does not exist" in str(caught.value) and "nothing was" in str(caught.value)
    assert server.faults.recorded() == []  # nothing reached the server
    assert resource.files.keys() == []
    (data / "sub" / "b.dcm").unlink()
    with pytest.warns(XNATLinkLoopWarning) as warned:
        resource.upload_dir(data, method="per_file")
    assert sorted(resource.files.keys()) == ["sub/a.dcm"]
    assert warned[0].message.links == ["sub/up"]  # type: ignore[union-attr]


def _special_files(folder: Path) -> socket.socket:
    """A FIFO ``pipe`` and a listening Unix socket ``sock`` in ``folder`` (close the socket)."""
    os.mkfifo(folder / "pipe")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / "sock"))
    return listener


def test_links_not_followed_and_special_files_are_named_never_left_out_silently(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    """A FIFO or a socket in a folder to send was left out without a word, and so was every
    link a walk that follows none met (a local tar or zip of a folder): the walk's end
    warns XNATSkippedFilesWarning naming each, with its kind."""
    data = tmp_path / "special"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_bytes(b"a")
    (data / "sub" / "b.txt").write_bytes(b"b")
    (data / "alias.txt").symlink_to("a.txt")
    with contextlib.closing(_special_files(data / "sub")):
        resource = session.experiments[seeded.sessions["E1"]].resources.create("SPECIAL")
        with pytest.warns(XNATSkippedFilesWarning) as warned:
            resource.upload_dir(data, method="per_file")
        assert sorted(resource.files.keys()) == ["a.txt", "alias.txt", "sub/b.txt"]
        told = [w.message for w in warned if isinstance(w.message, XNATSkippedFilesWarning)]
        assert [(m.links, m.special) for m in told] == [
            ([], {"sub/pipe": "FIFO", "sub/sock": "socket"})
        ]
        assert "sub/pipe (FIFO), sub/sock (socket)" in str(told[0])
        with pytest.warns(XNATSkippedFilesWarning) as warned:  # a local tar follows no link
            write_tar(data, io.BytesIO(), gzip=False)
        unfollowed = warned[0].message
        assert isinstance(unfollowed, XNATSkippedFilesWarning)
        assert unfollowed.links == ["alias.txt"] and len(unfollowed.special) == 2
        assert "1 symbolic link(s) not followed: alias.txt" in str(unfollowed)


@pytest.mark.parametrize("category", [XNATSkippedFilesWarning, XNATLinkLoopWarning])
def test_a_walk_warning_made_an_error_travels_between_processes(
    session: XNATSession, seeded: Seeded, tmp_path: Path, category: type[Warning]
) -> None:
    """With warnings made errors (``-W error``), a walk's warning is raised; raised in a
    worker process it comes back pickled, and unpickling failed (its __init__ takes the
    folder and what was left out): TypeError instead of the warning."""
    data = tmp_path / "walked"
    data.mkdir()
    (data / "a.txt").write_bytes(b"a")
    if category is XNATLinkLoopWarning:
        (data / "again").symlink_to(".", target_is_directory=True)
    else:
        os.mkfifo(data / "pipe")
    resource = session.experiments[seeded.sessions["E1"]].resources.create(
        f"WARNED_{category.__name__}"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", category)
        with pytest.raises(category) as caught:
            resource.upload_dir(data, method="per_file")
    travelled = pickle.loads(pickle.dumps(caught.value))
    assert type(travelled) is category and str(travelled) == str(caught.value)
    assert vars(travelled) == vars(caught.value)


def _swap_after_walk(monkeypatch: pytest.MonkeyPatch, swap: Callable[[], None]) -> None:
    """Run ``swap`` (once) right after a folder's walk ends, before any file is read: the
    window in which a folder on a walked file's path can be replaced."""
    done: list[bool] = []

    def once() -> None:
        if not done:
            done.append(True)
            swap()

    for name in ("iter_files", "walk_files"):
        real = getattr(archives, name, None)
        if real is not None:

            def walked(*args: Any, _real: Any = real, **kwargs: Any) -> Iterator[Any]:
                yield from _real(*args, **kwargs)
                once()

            monkeypatch.setattr(archives, name, walked)


@pytest.mark.parametrize("method", ["per_file", "tgz_file", "import"])
def test_a_folder_swapped_for_a_link_after_the_walk_is_not_read(
    server: LocalXNAT,
    session: XNATSession,
    seeded: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
) -> None:
    """The walk checked every link, then the files were read by their paths: a folder on
    a path replaced in between by a link leading outside (``sub -> ~/.ssh``) sent the file
    found there. Each read now opens without following a link and compares the file with
    the one the walk saw: XNATLinkOutsideError, the file outside never read."""
    data, home = tmp_path / "data", tmp_path / "home"
    (data / "sub").mkdir(parents=True)
    home.mkdir()
    (data / "sub" / "id_rsa").write_bytes(b"harmless")
    (home / "id_rsa").write_bytes(b"PRIVATE KEY")

    def swap() -> None:
        (data / "sub").rename(tmp_path / "moved")
        (data / "sub").symlink_to(home, target_is_directory=True)

    _swap_after_walk(monkeypatch, swap)
    experiment = session.experiments[seeded.sessions["E1"]]
    resource = experiment.resources.create(f"SWAP_{method}")
    server.faults.start_recording()
    with pytest.raises(XNATLinkOutsideError) as caught:
        if method == "import":
            session.services.import_dir(data, project=seeded.project)
        else:
            resource.upload_dir(data, method=method)
    assert caught.value.checked and caught.value.path == str(data / "sub" / "id_rsa")
    assert caught.value.target == os.path.realpath(home / "id_rsa")
    assert "not read" in str(caught.value)
    assert server.faults.recorded() == []  # the walk's only file: nothing was sent


def test_a_file_replaced_after_the_walk_is_refused_when_links_are_followed(
    session: XNATSession, seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With follow_symlinks=True a path may lead anywhere, but the file read must still be
    the one the walk saw (not a link put in its place, not another file)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_bytes(b"a")
    (tmp_path / "other.txt").write_bytes(b"other")

    def swap() -> None:
        (data / "a.txt").unlink()
        (data / "a.txt").symlink_to(tmp_path / "other.txt")

    _swap_after_walk(monkeypatch, swap)
    resource = session.experiments[seeded.sessions["E1"]].resources.create("SWAP_ALL")
    with pytest.raises(XNATLocalFileError, match="another file is there") as caught:
        resource.upload_dir(data, method="tgz_file", follow_symlinks=True)
    assert caught.value.errno == errno.ESTALE and caught.value.path == str(data / "a.txt")
    assert resource.files.keys() == []
    monkeypatch.undo()

    def fifo() -> None:  # opened as it was, a FIFO would block the read for ever
        (data / "a.txt").unlink()
        os.mkfifo(data / "a.txt")

    (data / "a.txt").unlink()
    (data / "a.txt").write_bytes(b"a")
    _swap_after_walk(monkeypatch, fifo)
    with pytest.raises(XNATLocalFileError, match="another file is there"):
        resource.upload_dir(data, method="per_file")
    assert resource.files.keys() == []


def _renumbered_after_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every walked file seen by the walk under another inode number than it has when read:
    what Linux's FAT and exFAT (``iunique`` each time a file is loaded), FUSE file systems
    without numbers of their own and CIFS without server numbers do when the kernel has
    dropped the file between the walk and the read."""
    real = archives.walk_files

    def walked(*args: Any, **kwargs: Any) -> Iterator[archives.WalkedFile]:
        for found in real(*args, **kwargs):
            dev, ino = found.identity
            yield dataclasses.replace(found, identity=(dev, ino + 10**9))

    monkeypatch.setattr(archives, "walk_files", walked)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="the kernel's path of an fd")
@pytest.mark.parametrize("method", ["per_file", "tgz_file"])
def test_a_file_the_file_system_numbered_anew_is_still_sent(
    session: XNATSession,
    seeded: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
) -> None:
    """A file whose inode number changed between the walk and the read, though it is the
    same file (an exFAT drive, an sshfs mount: the kernel dropped the file meanwhile), was
    refused as replaced ('another file is there'), failing a long upload part way. The file
    the kernel opened is at the walk's real path: sent. A hard link put in its place (the
    same path, another's file) is still refused."""
    data = tmp_path / "exfat"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_bytes(b"first")
    (data / "sub" / "b.txt").write_bytes(b"second")
    _renumbered_after_walk(monkeypatch)
    resource = session.experiments[seeded.sessions["E1"]].resources.create(f"RENUM_{method}")
    resource.upload_dir(data, method=method)
    assert sorted(resource.files.keys()) == ["a.txt", "sub/b.txt"]
    assert resource.files["sub/b.txt"].download(tmp_path / "b.txt").read_bytes() == b"second"

    other = tmp_path / "not-yours.txt"
    other.write_bytes(b"another's")
    (data / "a.txt").unlink()
    os.link(other, data / "a.txt")
    with pytest.raises(XNATLocalFileError, match="another file is there"):
        resource.upload_dir(data, method=method, overwrite=True)


@pytest.mark.parametrize("method", ["per_file", "tgz_file"])
def test_a_file_gone_while_the_folder_is_walked_is_named_in_a_typed_error(
    server: LocalXNAT,
    session: XNATSession,
    seeded: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
) -> None:
    """A file deleted between its folder's listing and the walk's look at it (a folder
    another program writes into) raised a bare FileNotFoundError out of the walk (the
    walk's own stat of each entry): XNATLocalFileError naming it, as a failed read raises,
    before anything is sent."""
    data = tmp_path / "busy"
    data.mkdir()
    (data / "a.txt").write_bytes(b"a")
    (data / "b.tmp").write_bytes(b"written by another program")
    listed = os.scandir

    @contextlib.contextmanager
    def then_gone(path: Any) -> Iterator[list[os.DirEntry[str]]]:
        with listed(path) as entries:
            found = list(entries)
        (data / "b.tmp").unlink(missing_ok=True)
        yield found

    monkeypatch.setattr(os, "scandir", then_gone)
    resource = session.experiments[seeded.sessions["E1"]].resources.create(f"GONE_{method}")
    server.faults.start_recording()
    with pytest.raises(XNATLocalFileError) as caught:
        resource.upload_dir(data, method=method)
    assert caught.value.path == str(data / "b.tmp") and caught.value.errno == errno.ENOENT
    assert server.faults.recorded() == []


def _interrupt_soon(seconds: float) -> threading.Timer:
    """A Ctrl-C in the main thread ``seconds`` from now (while an invalidation waits)."""
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    return timer


def test_a_second_ctrl_c_while_invalidating_a_runs_tokens_loses_no_record(
    server: LocalXNAT, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from xnat_sdk import _maprun

    monkeypatch.setattr(_maprun, "_INVALIDATE_WAITS", (0.4, 0.4))
    invalidate = "/data/services/tokens/invalidate"
    session = xnat_sdk.connect(server.url, user="admin", password="admin")
    grant = _maprun._Grant(session)
    grant.task()
    grant._renew(0.0)  # a run long enough to hold two tokens
    tokens = list(grant.issued)
    server.faults.fail_next(100, status=500, prefix=invalidate)  # a server slow to agree
    timer = _interrupt_soon(0.1)  # the second Ctrl-C: the first ended the run
    with (
        pytest.warns(XNATTokenWarning, match="interrupted") as warned,
        pytest.raises(KeyboardInterrupt) as caught,
    ):
        grant.close()
    timer.join()
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    for token in tokens:
        for text in (notes, str(warned[0].message), caplog.text):
            assert token.alias in text and token.secret not in text
        assert alias_logs_in(server, token)
    assert session._tokens_left == tokens  # the disconnect still has them
    timer = _interrupt_soon(0.1)  # ... and a Ctrl-C during that one keeps them too
    with pytest.warns(XNATTokenWarning), pytest.raises(KeyboardInterrupt):
        session.disconnect()
    timer.join()
    assert session._tokens_left == tokens
    server.faults.clear()
    session.disconnect()
    for token in tokens:
        assert not alias_logs_in(server, token)


def alias_logs_in(server: LocalXNAT, token: TokenResult) -> bool:
    try:
        xnat_sdk.connect(server.url, user=token.alias, password=token.secret).disconnect()
    except XNATAuthError:
        return False
    return True


def test_a_password_to_a_loopback_server_through_a_proxy_elsewhere_warns() -> None:
    """The proxy carries the password in clear text over the network. (Decided before the
    login is sent; a proxy off this machine cannot be reached by the tests.)"""
    local = "http://127.0.0.1:8080"
    with pytest.warns(XNATPlainHTTPWarning, match="through the proxy") as caught:
        _warn_plain_http(
            local, Credentials("admin", "admin", "arguments"), "http://proxy.invalid:3128"
        )
    warning = caught[0].message
    assert isinstance(warning, XNATPlainHTTPWarning)
    assert warning.server == f"{local} through the proxy http://proxy.invalid:3128"
    with warnings.catch_warnings():
        warnings.simplefilter("error", XNATPlainHTTPWarning)
        _warn_plain_http(local, Credentials("admin", "admin", "arguments"), "http://127.0.0.1:3128")
        _warn_plain_http(local, Credentials("admin", "admin", "arguments"), None)
