"""Site suitability: a grid over the belt scored by weighted, documented criteria.

``suitability`` scores the grid (``corridormap.suitability``); ``model`` reads the criteria and
weights (and the exclusion layers) from TOML; ``sensitivity`` moves each weight ±20 % and reports how
the top sites change; ``tiff`` streams a lazy score into a GeoTIFF; ``defaults`` computes the belt's
default rasters offline.
"""
