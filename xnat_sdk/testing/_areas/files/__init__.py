"""Resources and files at every level of the archive tree, and zips of them.

* model: :mod:`.storage` (resource rows, storing files, temporary names),
  :mod:`.leftovers` (temporary files of killed servers), :mod:`.parents` (URL -> the
  resource owner);
* :mod:`.zips`: streaming zip/tar answers, reading uploaded zip/tar files;
* handlers: :mod:`.resources` (catalogs), :mod:`.downloads` (listings, files, zips),
  :mod:`.uploads` (uploads, extraction, deletes);
* :mod:`.routes`: the route table (every parent URL form of the archive tree).
"""
