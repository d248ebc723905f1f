"""The analysis: nearest features, access, networks, reach, gaps, the corridor line, strips.

``nearest`` is the exact nearest-feature search everything else builds on; ``access``, ``network``,
``reach``, ``gaps`` and ``corridor`` compute the figures; ``footprints`` and ``strip`` draw
approximate footprints and strip diagrams; ``rules`` reads ``layers/rules/*.toml``; ``outputs`` is
the analysis as layers, as the build and the CLI use it.
"""
