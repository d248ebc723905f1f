/* corridormap: the planner's controls. Title block (with the strip diagrams), data sources, pointer
 * position, overview map, search. Started by Components of corridormap/render/controls.py. */
(function () {
  "use strict";
  var CM = window.corridormap;

  function control(map, position, cls, build) {
    var ctl = L.control({ position: position });
    ctl.onAdd = function () {
      var div = CM.el("div", cls);
      build(div);
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    ctl.addTo(map);
    return ctl;
  }

  /* an SVG document of corridormap's own (strip diagrams), imported without scripts or handlers */
  CM.safeSvg = function (text) {
    var doc = new DOMParser().parseFromString(text, "image/svg+xml"), svg = doc.documentElement;
    if (!svg || svg.nodeName.toLowerCase() !== "svg") { return null; }
    svg.querySelectorAll("script, foreignObject, iframe").forEach(function (n) { n.remove(); });
    svg.querySelectorAll("*").forEach(function (n) {
      Array.prototype.slice.call(n.attributes).forEach(function (a) {
        var v = String(a.value).trim().toLowerCase();
        if (/^on/i.test(a.name) || ((a.name === "href" || a.name === "xlink:href") && !/^#/.test(v))) { n.removeAttribute(a.name); }
      });
    });
    svg.removeAttribute("width");
    svg.setAttribute("class", "cm-strip-svg");
    return document.importNode(svg, true);
  };

  /* a dialog over the map (strip diagrams); Escape or the close button closes it */
  CM.dialog = function (map, title, fill) {
    var shade = CM.el("div", "cm-dialog-shade", map.getContainer());
    var box = CM.el("div", "cm-dialog", shade);
    box.setAttribute("role", "dialog");
    var head = CM.el("div", "cm-dialog-head", box);
    CM.el("h2", "", head, title);
    var close = CM.el("button", "cm-dialog-close", head, "Close");
    close.type = "button";
    var body = CM.el("div", "cm-dialog-body", box);
    fill(body);
    L.DomEvent.disableClickPropagation(shade);
    L.DomEvent.disableScrollPropagation(shade);
    function shut() { shade.remove(); document.removeEventListener("keydown", onKey); }
    function onKey(e) { if (e.key === "Escape") { shut(); } }
    close.onclick = shut;
    shade.addEventListener("click", function (e) { if (e.target === shade) { shut(); } });
    document.addEventListener("keydown", onKey);
    return shade;
  };

  CM.title = function (map, cfg) {
    var div = CM.el("div", "cm-title", map.getContainer());
    CM.el("h1", "", div, cfg.title);
    CM.el("div", "cm-built", div, cfg.built);
    var note = CM.el("div", "cm-note", div, cfg.note);
    note.title = cfg.note;
    if (cfg.strips && cfg.strips.length) {
      var line = CM.el("div", "cm-extra", div);
      CM.el("span", "", line, "Strip diagrams: ");
      cfg.strips.forEach(function (s, i) {
        if (i) { CM.el("span", "", line, " · "); }
        var b = CM.el("button", "cm-linkish cm-strip-open", line, s.title);
        b.type = "button";
        b.onclick = function () {
          CM.dialog(map, s.title + ": strip diagram", function (body) {
            var svg = CM.safeSvg(s.svg);
            if (svg) { body.appendChild(svg); }
            var save = CM.el("a", "cm-linkish", CM.el("p", "", body), "Save this diagram (SVG)");
            save.href = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(s.svg);
            save.download = s.file;
          });
        };
      });
      L.DomEvent.disableClickPropagation(div);
    }
  };

  CM.sources = function (map, cfg) {
    control(map, "bottomleft", "cm-sources", function (div) {
      var button = CM.el("button", "", div, "Data sources and caveats");
      button.type = "button";
      button.setAttribute("aria-expanded", "false");
      var body = CM.el("div", "cm-sources-body", div);
      cfg.notes.forEach(function (n) { CM.el("p", "cm-caveat", body, n); });
      var table = CM.el("table", "", body);
      cfg.rows.forEach(function (r) {
        var tr = CM.el("tr", "", table);
        tr.setAttribute("data-layer", r.layer);
        CM.el("th", "", tr, r.title);
        var td = CM.el("td", "", tr);
        var src = CM.el("div", "", td);
        src.innerHTML = r.source_html; // built and escaped by corridormap (popup.source_links)
        CM.el("div", "", td, "Licence: " + r.licence);
        CM.el("div", "", td, "As of: " + r.as_of + " · Geometry: " + r.geometry_quality);
      });
      button.onclick = function () {
        var open = div.classList.toggle("open");
        button.setAttribute("aria-expanded", String(open));
      };
    });
  };

  /* latitude and longitude under the pointer, kept true after a pan, zoom or search */
  CM.mouse = function (map) {
    var last = null;
    control(map, "bottomleft", "cm-mouse-position leaflet-control-attribution", function (div) {
      div.textContent = "–";
      function show(ll) { div.textContent = ll.lat.toFixed(4) + "° N, " + ll.lng.toFixed(4) + "° E"; }
      map.on("mousemove", function (e) { last = e.containerPoint; show(e.latlng); });
      map.on("moveend zoomend", function () { if (last) { show(map.containerPointToLatLng(last)); } });
      map.on("mouseout", function () { last = null; div.textContent = "–"; });
    });
  };

  CM.minimap = function (map, cfg) {
    if (!L.Control.MiniMap) { return; }
    var outline = L.geoJson(cfg.outline, {
      interactive: false,
      style: function (f) {
        return f.properties.highlight
          ? { color: "#7d7361", weight: 1, fillColor: "#f6f2e6", fillOpacity: 1 }
          : { color: "#b3aea3", weight: 0.5, fillColor: "#ebe9e4", fillOpacity: 1 };
      }
    });
    var small = window.innerWidth < cfg.smallWidth || window.innerHeight < cfg.smallHeight;
    var mini = new L.Control.MiniMap(outline, {
      toggleDisplay: true, minimized: small, position: "bottomright", zoomLevelFixed: 3, width: 150, height: 150,
      strings: { hideText: "Hide overview map", showText: "Show overview map" }
    });
    mini.addTo(map);
    // an overview only: the plugin's sync back (overview moved -> main map set to its centre, rounded
    // at zoom 3) races the main map's own moves and shifts the view a planner just chose
    mini._miniMap.off("moveend", mini._onMiniMapMoved, mini);
    mini._miniMap.dragging.disable();
    mini._miniMap.getContainer().style.background = "#cfe0ea";
  };

  CM.search = function (map, cfg, refs) {
    if (!L.Control.Search) { return; }
    var records = cfg.records, bigTitles = cfg.big, groups = {};
    cfg.layers.forEach(function (name, i) { groups[name] = refs[i]; });
    function bigRows(text) { // matches from the large layers' own names, on the map or not
      var B = window.corridormapBig;
      if (!B) { return []; }
      var layers = Object.keys(bigTitles).map(function (n) { return B.layers[n]; })
        .filter(function (l) { return l && l.data; });
      return B.search(map, text, cfg.bigLimit, layers).map(function (r) {
        var ll = r.layer.anchor(r.feature);
        return { title: r.label, loc: [ll.lat, ll.lng], layer: r.layer.cm.name, feature: r.feature };
      });
    }
    function showBig(ll) {
      var group = groups[ll.layerKey], layer = window.corridormapBig.layers[ll.layerKey];
      if (group && !map.hasLayer(group)) { map.addLayer(group); map.fire("cm:layers"); }
      layer.focus(ll.feature);
    }
    function findLeaf(layer, fid) {
      var found = null;
      if (layer.feature && String(layer.feature.properties.id) === fid) { return layer; }
      if (layer.eachLayer) { layer.eachLayer(function (child) { found = found || findLeaf(child, fid); }); }
      return found;
    }
    function openAfterMove(leaf) {
      var done = false;
      function open() { if (!done) { done = true; CM.openFeature(map, leaf); } }
      map.once("moveend", open);
      setTimeout(open, 700);
    }
    var control = new L.Control.Search({
      sourceData: function (text, callResponse) {
        callResponse(records.concat(bigRows(text)));
        return { abort: function () {} };
      },
      formatData: function (rows) {
        var out = {};
        rows.forEach(function (r) {
          var ll = L.latLng(r.loc[0], r.loc[1]), title = r.title, k = 1;
          if (r.feature !== undefined) { // a large layer's name may repeat: keep every tip
            ll.feature = r.feature;
            while (Object.prototype.hasOwnProperty.call(out, title)) {
              k += 1;
              title = r.title + " (" + bigTitles[r.layer] + (k > 2 ? " " + (k - 1) : "") + ")";
            }
          }
          ll.layerKey = r.layer; ll.fid = r.id; out[title] = ll;
        });
        return out;
      },
      moveToLocation: function (ll, title, m) {
        if (ll.feature !== undefined) { showBig(ll); } else { m.setView(ll, cfg.zoom); }
      },
      buildTip: function (text) { var li = L.DomUtil.create("li", ""); li.textContent = text; return li; },
      initial: false, firstTipSubmit: true, autoCollapse: true, collapsed: true,
      zoom: cfg.zoom, position: "topleft", textPlaceholder: cfg.placeholder,
      marker: { icon: false, animate: true, circle: { radius: 14, weight: 3, color: "#e0115f", fill: false } }
    });
    control.on("search:locationfound", function (e) {
      var group = groups[e.latlng.layerKey];
      if (!group || e.latlng.feature !== undefined) { return; }
      if (!map.hasLayer(group)) { map.addLayer(group); map.fire("cm:layers"); }
      var leaf = findLeaf(group, String(e.latlng.fid));
      if (leaf) { openAfterMove(leaf); }
    });
    map.addControl(control);
    CM.searchControl = control;
    // an open popup is never covered by the search box
    map.on("popupopen", function () { if (control._input && document.activeElement !== control._input) { control.collapse(); } });
  };
})();
