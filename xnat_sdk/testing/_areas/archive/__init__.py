"""The archive tree: projects, subjects, experiments (sessions, assessors), scans and
reconstructions (the files of each are :mod:`xnat_sdk.testing._areas.files`).

* model: :mod:`.model` (creating and deleting rows), :mod:`.lookup` (URL -> rows),
  :mod:`.xsd` (the schema), :mod:`.documents` (JSON items and XML documents);
* request parsing: :mod:`.changes` (what a PUT asks for), :mod:`.tables` (listing
  parameters: shortcut columns, filters, paging);
* handlers: :mod:`.projects`, :mod:`.subjects`, :mod:`.sharing`, :mod:`.experiments`,
  :mod:`.experiment_listing`, :mod:`.scans`, :mod:`.creation` (POST on collections),
  with :mod:`.views` for what they share;
* :mod:`.routes`: the route table; :mod:`.paths`: its URL prefixes.
"""
