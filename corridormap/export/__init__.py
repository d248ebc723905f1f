"""Exports for GIS staff: every format they use, nothing lost silently, nothing half-written.

``write`` is the entry (``corridormap.export_layers``); ``formats`` knows each format; ``adapt``
fits a layer to a format, recording every loss; ``csvfile`` writes and reads CSV; ``readback``
reads a written layer exactly; ``manifest`` describes what was written; ``postgis`` writes to PostGIS.
"""
