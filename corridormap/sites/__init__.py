"""Site suitability: a grid over the belt scored by weighted, documented criteria.

``suitability`` scores the grid (``corridormap.suitability``); ``model`` reads the criteria and
weights from TOML; ``tiff`` streams a lazy score into a GeoTIFF; ``defaults`` computes the belt's
default rasters offline.
"""
