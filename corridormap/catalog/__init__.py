"""The layer catalog: ``layers/*.toml`` entries, the schema check, and loading layers from them.

``load`` reads each TOML entry into a :class:`~corridormap.catalog.load.LayerSpec` and loads the
layers (shipped data, users' files through :mod:`corridormap.io`, derived layers); ``schema`` checks
a layer against its entry; ``sources`` classifies the web addresses the shipped data cites
(``layers/_sources.toml``: source kinds and denied hosts). The public entry points are
``corridormap.load_layers``, ``corridormap.read_layer``, ``corridormap.load_catalog`` and
``corridormap.LayerSpec``.
"""
