"""Site configuration (XNAT's ``SiteConfigPreferences``): ``/xapi/siteConfig`` (:mod:`.routes`)
and the site ID the accession numbers are made from (:mod:`.preferences`)."""
