"""Field-name mapping: always collision-free, within the format's limits, and recorded (hypothesis)."""

from __future__ import annotations

import geopandas as gpd
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from corridormap.export.adapt import fit
from corridormap.export.formats import FORMATS

_TRICKY = [
    "fid",
    "FID",
    "fid_attr",
    "geom",
    "wkt",
    "x",
    "Y",
    "lon",
    "begin",
    "begin_attr",
    "name",
    "Name",
    "population_2011",
    "population_2021",
    "populati_1",
    "ज" * 4,
]
names = st.lists(
    st.one_of(
        st.text(alphabet=st.sampled_from("abcAB_1ज東é"), min_size=1, max_size=14), st.sampled_from(_TRICKY)
    ).filter(lambda n: n.lower() != "geometry"),
    min_size=1,
    max_size=8,
    unique=True,
)


@settings(max_examples=150, deadline=None)
@given(columns=names, key=st.sampled_from(["shp", "gpkg", "kml", "csv"]))
def test_names_are_unique_within_limits_and_every_rename_is_recorded(columns, key):
    caps = FORMATS[key].caps
    frame = gpd.GeoDataFrame({c: [1] for c in columns}, geometry=[Point(0, 0)], crs="EPSG:4326")
    fitted, losses = fit("layer", frame, caps)
    final = [c for c in fitted.columns if c != "geometry"]
    assert len(final) == len(columns)
    folded = [n.lower() for n in final] if caps.case_insensitive_names else final
    assert len(set(folded)) == len(final)
    if caps.name_bytes:
        assert all(len(n.encode("utf-8")) <= caps.name_bytes for n in final)
    recorded = {loss.column: loss.mapping[loss.column] for loss in losses if loss.kind == "rename"}
    for old, new in zip(columns, final, strict=True):
        assert recorded.get(old, old) == new  # a changed name is always in the mapping
    assert all(n not in caps.reserved for n in folded)
