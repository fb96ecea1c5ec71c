"""The prearchive: DICOM sessions received but not archived yet, and archiving them.

* model: :mod:`.model` (session and scan rows, queries), :mod:`.layout` (folders on disk),
  :mod:`.access` (who may see or change a project's prearchive), :mod:`.dicom_studies`
  (uploaded DICOM grouped into studies), :mod:`.sessions` (writing sessions: create, merge,
  move, rebuild, delete), :mod:`.archiver` (moving a session into the archive tree);
* request parsing: :mod:`.params`; answers: :mod:`.documents` (session XML, zips, tables);
* handlers: :mod:`.session_handlers`, :mod:`.content_handlers` (scans, resources, files,
  logs), :mod:`.batch` (``/data/services/archive`` and ``/data/services/prearchive/...``);
* :mod:`.routes`: the route table, the tables and the prearchive folder.

Storage: table ``prearchive_sessions`` (one row per ``(project, timestamp, folder)``; the
project of unassigned sessions is ``Unassigned``), table ``prearchive_scans``, and the files
under ``{data_dir}/prearchive/{project}/{timestamp}/{folder}/SCANS/{scan}/{resource}/``.
"""
