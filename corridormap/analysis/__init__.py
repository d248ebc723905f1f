"""The analysis: nearest features, access, networks, reach, gaps, the corridor line, strips.

``nearest`` is the exact (planar) nearest-feature search everything else builds on; ``geodesic``
measures the distances a user reads on the WGS 84 ellipsoid on top of it; ``access``, ``network``,
``port_rail`` (rail km along the freight corridors), ``reach``, ``gaps`` and ``corridor`` compute
the figures; ``footprints`` and ``strip`` draw
approximate footprints and strip diagrams; ``rules`` reads ``layers/rules/*.toml``; ``outputs`` is
the analysis as layers, as the build and the CLI use it.
"""
