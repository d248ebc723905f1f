/* corridormap: the offline planning basemap (countries, Natural Earth 1:10m land, lakes and rivers,
 * state boundaries with names, cities with labels), drawn beneath the tile pane: a tile basemap
 * covers it once its tiles load, and it stays in view wherever tiles cannot load (no network).
 * Two levels of detail, switched at cfg.fineZoom. Started by corridormap/render/basemap.py. */
(function () {
  "use strict";
  var CM = window.corridormap;

  function pane(map, name, z) {
    var p = map.getPane(name) || map.createPane(name);
    p.style.zIndex = z;
    p.style.pointerEvents = "none";
    return name;
  }

  /* an encoded polyline (Google's algorithm) back to [[lat, lng], ...] */
  CM.decodeLine = function (text, decimals) {
    var out = [], i = 0, lat = 0, lng = 0, scale = Math.pow(10, decimals);
    while (i < text.length) {
      for (var k = 0; k < 2; k++) {
        var shift = 0, result = 0, b;
        do { b = text.charCodeAt(i++) - 63; result |= (b & 0x1f) << shift; shift += 5; } while (b >= 0x20);
        var d = result & 1 ? ~(result >> 1) : result >> 1;
        if (k === 0) { lat += d; } else { lng += d; }
      }
      out.push([lat / scale, lng / scale]);
    }
    return out;
  };

  function shapes(features, decimals, make, group) {
    features.forEach(function (parts) {
      var rings = parts.map(function (part) { return part.map(function (r) { return CM.decodeLine(r, decimals); }); });
      group.addLayer(make(rings));
    });
  }

  function labelMarker(ll, text, cls, paneName) {
    return L.marker(ll, {
      interactive: false, keyboard: false, pane: paneName,
      icon: L.divIcon({ className: "cm-label " + cls, html: "", iconSize: null, iconAnchor: [-5, 7] })
    }).on("add", function (ev) { ev.target.getElement().textContent = text; });
  }

  CM.basemap = function (map, cfg) {
    var below = pane(map, "cm-basemap", 150), labels = pane(map, "cm-basemap-labels", 390);
    var st = cfg.style, base = { pane: below, interactive: false };
    map.getContainer().style.background = st.sea;
    // neighbours from the coarse file; India's own land is the states' fill (its detailed coast)
    L.geoJson(cfg.countries, L.extend({}, base, {
      filter: function (f) { return !f.properties.highlight; },
      style: { color: st.countryLine, weight: 0.6, fillColor: st.neighbour, fillOpacity: 1 }
    })).addTo(map);
    var dec = cfg.decimals;
    function polys(opts) { return function (rings) { return L.polygon(rings, L.extend({}, base, opts)); }; }
    function lines(opts) { return function (parts) { return L.polyline(parts.map(function (p) { return p[0]; }), L.extend({}, base, opts)); }; }
    var levels = cfg.levels.map(function (lv) {
      var g = L.layerGroup();
      shapes(lv.land, dec, polys({ stroke: false, fillColor: st.neighbour, fillOpacity: 1 }), g);
      shapes(lv.states, dec, polys({ color: st.stateLine, weight: 1.1, opacity: 0.9, dashArray: "5 3", fillColor: st.land, fillOpacity: 1 }), g);
      shapes(lv.rivers, dec, lines({ color: st.water, weight: 1.1, opacity: 0.9 }), g);
      shapes(lv.lakes, dec, polys({ color: st.water, weight: 0.6, fillColor: st.sea, fillOpacity: 1 }), g);
      g.minZoom = lv.minZoom; g.maxZoom = lv.maxZoom;
      return g;
    });
    var stateLabels = L.layerGroup(cfg.stateLabels.map(function (s) { return labelMarker([s[0], s[1]], s[2], "cm-state", labels); }));
    var major = L.layerGroup(), minor = L.layerGroup();
    cfg.cities.forEach(function (c) {
      var dot = L.circleMarker([c[0], c[1]], { pane: labels, interactive: false, radius: c[3] ? 3 : 2.2, color: "#555", weight: 1, fillColor: "#fff", fillOpacity: 1, className: "cm-city-dot" });
      var g = c[3] ? major : minor;
      g.addLayer(dot);
      g.addLayer(labelMarker([c[0], c[1]], c[2], c[3] ? "cm-city cm-city-major" : "cm-city", labels));
    });
    function show(layer, on) {
      if (on && !map.hasLayer(layer)) { map.addLayer(layer); }
      if (!on && map.hasLayer(layer)) { map.removeLayer(layer); }
    }
    function update() {
      var z = map.getZoom(), live = map.getContainer().classList.contains("cm-tiles-live");
      levels.forEach(function (g) { show(g, z >= g.minZoom && z <= g.maxZoom); });
      show(stateLabels, !live && z >= cfg.stateLabelZoom);
      show(major, !live);
      show(minor, !live && z >= cfg.minorCityZoom);
    }
    map.on("zoomend cm:base", update);
    map.on("tileload", function () { if (map.getContainer().classList.contains("cm-tiles-live")) { update(); } });
    map.whenReady(update);
    if (map.attributionControl) { map.attributionControl.addAttribution(cfg.credit); }
  };
})();
