"""Reading the files users bring: readers and checks, the validation report, attribute joins, OSM extracts.

``read`` is the entry (``corridormap.read_file``); ``_readers`` reads each kind of source,
``_crschecks``, ``_fieldchecks``, ``_geomchecks``, ``_csvcoords`` and ``_shapefile`` check and repair;
``report`` collects every finding; ``attrjoin`` joins attribute tables by key; ``osm_extract``
parses OpenStreetMap extracts into the catalog's schemas.
"""
