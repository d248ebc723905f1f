/* corridormap: the page's own code (core). Every piece is started by corridormap.run(name, map, id, refs)
 * from a Component (corridormap/render/page.py); its data is the JSON block with that id.
 * Text from data files arrives as JSON and is set as text, or is HTML escaped in Python (popups). */
(function () {
  "use strict";
  var CM = (window.corridormap = window.corridormap || {});
  CM.points = CM.points || []; // every clickable point feature bound by bindFeature
  CM.POPUP = { maxWidth: 380, minWidth: 260, className: "cm-popup-wrap", autoPanPaddingTopLeft: [60, 100], autoPanPaddingBottomRight: [20, 20] };
  CM.STACK_PX = 6; // points closer than this on screen are offered together in a chooser

  CM.data = function (id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  };

  CM.run = function (name, map, id, refs) {
    if (typeof CM[name] !== "function") { throw new Error("corridormap: no component " + name); }
    return CM[name](map, CM.data(id), refs || []);
  };

  CM.el = function (tag, cls, parent, text) {
    var e = L.DomUtil.create(tag, cls || "", parent);
    if (text !== undefined) { e.textContent = text; }
    return e;
  };

  function leafLatLng(layer) {
    return layer.getLatLng ? layer.getLatLng() : null;
  }

  /* the clickable point features drawn at (about) the same screen position as ``layer`` */
  CM.stackAt = function (map, layer) {
    var ll = leafLatLng(layer);
    if (!ll) { return [layer]; }
    var p = map.latLngToContainerPoint(ll), out = [];
    CM.points.forEach(function (other) {
      if (!other._map) { return; } // switched off, or clustered away: not on screen as itself
      var q = map.latLngToContainerPoint(other.getLatLng());
      if (Math.abs(q.x - p.x) <= CM.STACK_PX && Math.abs(q.y - p.y) <= CM.STACK_PX) { out.push(other); }
    });
    if (out.indexOf(layer) < 0) { out.unshift(layer); }
    return out;
  };

  CM.openFeature = function (map, layer, latlng) {
    if (layer.getPopup && layer.getPopup()) { layer.openPopup(leafLatLng(layer) || latlng); }
  };

  /* a chooser popup listing every feature at one position; each opens with one click */
  CM.openChooser = function (map, stack, latlng) {
    var box = CM.el("div", "cm-chooser");
    CM.el("div", "cm-chooser-head", box, stack.length + " features here: choose one");
    var list = CM.el("ul", "", box);
    stack.forEach(function (leaf) {
      var p = leaf.feature.properties, li = CM.el("li", "", list);
      var a = CM.el("a", "", li, p.name || p.id);
      a.href = "#";
      CM.el("span", "cm-chooser-layer", li, p._layer || "");
      L.DomEvent.on(a, "click", function (e) {
        L.DomEvent.preventDefault(e);
        CM.openFromChooser(map, leaf, stack, latlng);
      });
    });
    L.popup(CM.POPUP).setLatLng(latlng).setContent(box).openOn(map);
  };

  /* a feature opened from the chooser: its popup starts with a link back to the list, for as long as
   * it stays open (its own content comes back when it closes, so a direct click shows no link) */
  CM.openFromChooser = function (map, leaf, stack, latlng) {
    var popup = leaf.getPopup && leaf.getPopup();
    if (!popup) { return; }
    var own = popup.getContent();
    var box = CM.el("div", "cm-from-chooser");
    var back = CM.el("a", "cm-chooser-back", box, "\u2190 " + stack.length + " features here");
    back.href = "#";
    var body = CM.el("div", "", box);
    // the popup HTML corridormap built and escaped (popup.py), the same string Leaflet itself would set
    if (typeof own === "string") { body.innerHTML = own; } else if (own) { body.appendChild(own); }
    L.DomEvent.on(back, "click", function (e) {
      L.DomEvent.preventDefault(e);
      L.DomEvent.stopPropagation(e);
      CM.openChooser(map, stack, latlng);
    });
    popup.setContent(box);
    leaf.once("popupclose", function () { popup.setContent(own); });
    CM.openFeature(map, leaf, latlng);
  };

  /* folium's onEachFeature for every normal-path feature (corridormap/render/layers.py) */
  CM.bindFeature = function (feature, layer) {
    var p = feature.properties;
    // (an area gets no hover tooltip: it would follow the pointer anywhere inside it; a click opens its popup)
    if (p._tooltip && !(layer instanceof L.Polygon)) {
      layer.bindTooltip(p._tooltip, { sticky: !layer.getLatLng, direction: "top", offset: [0, -6] });
    }
    if (!p._popup) { return; }
    if (layer.getLatLng) { CM.points.push(layer); }
    layer.bindPopup(p._popup, CM.POPUP);
    layer.off("click", layer._openPopup, layer); // the click below decides: one feature or a chooser
    layer.on("click", function (e) {
      var map = layer._map;
      if (!map) { return; }
      L.DomEvent.stopPropagation(e);
      var stack = CM.stackAt(map, layer);
      if (stack.length > 1) { CM.openChooser(map, stack, leafLatLng(layer) || e.latlng); }
      else { CM.openFeature(map, layer, e.latlng); }
    });
  };

  /* permanent, non-interactive name labels for a point layer's features, from a zoom on */
  CM.labels = function (map, cfg, refs) {
    var group = refs[0], pane = map.getPane(cfg.pane) ? cfg.pane : "tooltipPane";
    var labels = L.layerGroup();
    cfg.labels.forEach(function (l) {
      labels.addLayer(L.marker([l[0], l[1]], {
        interactive: false, keyboard: false, pane: pane,
        icon: L.divIcon({ className: "cm-label " + (cfg.className || ""), html: "", iconSize: null, iconAnchor: [-9, 7] })
      }).on("add", function (ev) { ev.target.getElement().textContent = l[2]; }));
    });
    function update() {
      var want = map.getZoom() >= cfg.minZoom && (!group || map.hasLayer(group));
      if (want && !map.hasLayer(labels)) { map.addLayer(labels); }
      if (!want && map.hasLayer(labels)) { map.removeLayer(labels); }
      CM.declutter(map);
    }
    CM.labelGroups.push(labels);
    map.on("zoomend overlayadd overlayremove cm:layers", update);
    map.whenReady(update);
  };

  /* hide the labels that would overlap one drawn before them, all label layers together, the first
   * made (the top layer's) first; the popups have every name */
  CM.labelGroups = [];
  CM.declutter = function (map) {
    var kept = [];
    CM.labelGroups.forEach(function (group) { if (map.hasLayer(group)) { group.eachLayer(keep); } });
    function keep(m) {
      var el = m.getElement && m.getElement();
      if (!el) { return; }
      el.style.visibility = "";
      var r = el.getBoundingClientRect();
      var hit = kept.some(function (k) { return r.left < k.right && k.left < r.right && r.top < k.bottom && k.top < r.bottom; });
      if (hit) { el.style.visibility = "hidden"; } else { kept.push(r); }
    }
  };

  /* gap badges: a small red mark beside each flagged node, never over it, never catching clicks */
  CM.badges = function (map, cfg, refs) {
    var group = refs[0];
    cfg.badges.forEach(function (b) {
      L.marker([b[0], b[1]], {
        interactive: false, keyboard: false, pane: cfg.pane,
        icon: L.divIcon({ className: "cm-gap-badge", html: "", iconSize: [16, 16], iconAnchor: [-4, 20] })
      }).on("add", function (ev) { ev.target.getElement().textContent = "!"; }).addTo(group);
    });
  };
})();

/* small pieces every page may use */
(function () {
  "use strict";
  var CM = window.corridormap;
  CM.core = function () {};
  /* a cluster in its layer's own colour (the cluster group's option cmColor), sized by its count */
  CM.clusterIcon = function (cluster) {
    var n = cluster.getChildCount(), size = n < 10 ? 26 : n < 100 ? 32 : 38;
    var div = document.createElement("div");
    div.className = "cm-cluster";
    div.style.width = div.style.height = size + "px";
    div.style.background = this.cmColor || "#555";
    div.textContent = String(n);
    return L.divIcon({ html: div, className: "", iconSize: [size, size] });
  };
})();
