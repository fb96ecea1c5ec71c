"""A user's script at archive scale (issue 16): load_tree, map on an executor, bulk
downloads (each ``# R:`` line names the exact type the checkers must reveal)."""

# ruff: noqa: F821
# (reveal_type is a checker builtin: this file is type-checked, never run)

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import xnat_sdk
from xnat_sdk.bulk import sync_session
from xnat_sdk.mapping import MappedFunctionFailed, MappingLevel
from xnat_sdk.models import ImageSessionData, MrSessionData
from xnat_sdk.session import XNATSession


def scan_count(experiment: ImageSessionData) -> int:
    return len(experiment.scans)


def script(server: str) -> None:
    with xnat_sdk.connect(server, user="admin", password="admin") as session:
        project = session.projects["P"]
        tree = project.load_tree(["type", "series_description"])
        # R: xnat_sdk.listings.Listing[xnat_sdk.models.xnat_subject_data.SubjectData]
        reveal_type(tree)
        with ProcessPoolExecutor(2) as pool:
            results = project.map(scan_count, "experiment", executor=pool, stop_on_error=True)
        # R: dict[str, int | xnat_sdk.mapping.MappedFunctionFailed]
        # R-pyright: dict[str, int | MappedFunctionFailed]
        reveal_type(results)
        for value in results.values():  # a result or the failure, nothing else
            if not isinstance(value, MappedFunctionFailed):
                # R: int
                reveal_type(value)
        # R: dict[str, Any]
        reveal_type(project.map(scan_count, "experiment", logfile="run.json"))
        maybe_log = Path("run.json") if input() else None  # a log only sometimes: accepted
        project.map(scan_count, "experiment", logfile=maybe_log, stop_on_error=True)
        report = project.download_files("/tmp/out", workers=4)
        # R: int
        reveal_type(report.bytes)
        # R: list[str]
        reveal_type(session.download_files(tree[0].experiments, "/tmp/out").skipped)
        for experiment in tree[0].experiments[ImageSessionData]:
            # R: xnat_sdk.bulk.DownloadReport
            reveal_type(sync_session(experiment, "/tmp/out"))
        # the walks hand out each level's class, whichever spelling names the level
        # R: typing.Iterator[xnat_sdk.models.xnat_image_scan_data.ImageScanData]
        # R-pyright: Iterator[ImageScanData]
        reveal_type(project.mapping_iter("scan", max_workers=8))
        # R: typing.Iterator[xnat_sdk.models.xnat_abstract_resource.AbstractResource]
        # R-pyright: Iterator[AbstractResource]
        reveal_type(session.mapping_iter(MappingLevel.EXPERIMENT_RESOURCE))
        for found in tree[0].mapping_iter("experiment"):
            # R: xnat_sdk.models.xnat_experiment_data.ExperimentData
            reveal_type(found)
        # R: typing.Iterator[xnat_sdk.models.xnat_subject_data.SubjectData]
        # R-pyright: Iterator[SubjectData]
        reveal_type(session.mapping_iter(MappingLevel.SUBJECT))
        # R: list[xnat_sdk.models.xnat_image_scan_data.ImageScanData]
        reveal_type(session.search(project="P*", scan="T1"))
        # R: list[xnat_sdk.models.xnat_project_data.ProjectData]
        reveal_type(session.search(level="project"))
        # map_over takes the objects a user chose: a search result, a listing, files
        chosen = session.search(project="P*", scan="T1")
        # R: dict[str, int | xnat_sdk.mapping.MappedFunctionFailed]
        # R-pyright: dict[str, int | MappedFunctionFailed]
        reveal_type(session.map_over(scan_count, chosen, executor=pool, max_workers=4))
        # R: dict[str, Any]
        reveal_type(session.map_over(scan_count, chosen, None, None, "run.json"))
        session.map_over(scan_count, chosen, logfile=maybe_log)
        session.map_over(scan_count, tree[0].experiments[ImageSessionData], logfile="run.json")
        session.map_over(len, project.resources["DOCS"].files.values(), stop_on_error=True)
        level = input()
        # R: typing.Iterator[Any]
        # R-pyright: Iterator[Any]
        reveal_type(session.mapping_iter(level))


def class_query_is_typed(session: XNATSession) -> list[MrSessionData]:
    """xnatpy's ``Cls.query()`` is typed by the class (it was ``Any``; see the fail case)."""
    return MrSessionData.query(session=session).filter(MrSessionData.label == "E1").all()
