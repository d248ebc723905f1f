/* corridormap: one collapsible panel for the basemap choice, the layers (grouped, each with its
 * swatches) and the legend notes; and the tools to share, save and print the view.
 * Started by the Component of corridormap/render/panel.py. */
(function () {
  "use strict";
  var CM = window.corridormap;

  CM.panel = function (map, cfg, refs) {
    var layers = {}, bases = {}, boxes = {}, radios = {}, items = {};
    var ctl = L.control({ position: "topright" });
    var div = CM.el("div", "cm-panel leaflet-control");
    var small = window.innerWidth < cfg.smallWidth || window.innerHeight < cfg.smallHeight;
    if (small) { div.classList.add("collapsed"); }
    var head = CM.el("button", "cm-panel-head", div);
    head.type = "button";
    CM.el("span", "cm-panel-icon", head, "☰");
    CM.el("span", "", head, cfg.title);
    head.setAttribute("aria-expanded", String(!small));
    var body = CM.el("div", "cm-panel-body", div);
    head.onclick = function () {
      var open = !div.classList.toggle("collapsed");
      head.setAttribute("aria-expanded", String(open));
    };

    cfg.bases.forEach(function (b) { bases[b.key] = b.ref === null ? null : refs[b.ref]; });
    if (cfg.bases.length > 1) { // (an offline map has the planning basemap only: nothing to choose)
      var bsec = CM.el("fieldset", "cm-panel-group cm-panel-bases", body);
      CM.el("legend", "", bsec, cfg.basesTitle);
      cfg.bases.forEach(function (b) {
        var row = CM.el("label", "cm-panel-row", bsec);
        var input = CM.el("input", "", row);
        input.type = "radio"; input.name = "cm-base"; input.value = b.key;
        radios[b.key] = input;
        CM.el("span", "", row, b.title);
        input.onchange = function () { CM.setBase(map, b.key); };
      });
    }
    var sections = [];
    cfg.groups.forEach(function (g) {
      var sec = CM.el("fieldset", "cm-panel-group", body), keys = [];
      CM.el("legend", "", sec, g.title);
      sections.push({ element: sec, keys: keys });
      g.layers.forEach(function (l) {
        var ref = refs[l.ref], item = CM.el("div", "cm-panel-layer", sec);
        layers[l.key] = ref;
        items[l.key] = item;
        keys.push(l.key);
        var row = CM.el("label", "cm-panel-row", item);
        var input = CM.el("input", "", row);
        input.type = "checkbox";
        input.checked = map.hasLayer(ref);
        boxes[l.key] = input;
        var sw = CM.el("span", "cm-swatch", row);
        sw.innerHTML = l.swatches.length === 1 ? l.swatches[0].svg : ""; // SVG built by corridormap (legend.py)
        CM.el("span", "cm-panel-label", row, l.title);
        input.onchange = function () {
          if (input.checked) { map.addLayer(ref); } else { map.removeLayer(ref); }
          map.fire("cm:layers");
        };
        if (l.swatches.length > 1) {
          var sub = CM.el("div", "cm-panel-sub", item);
          l.swatches.forEach(function (s) {
            var srow = CM.el("div", "cm-panel-subrow", sub);
            CM.el("span", "cm-swatch", srow).innerHTML = s.svg;
            CM.el("span", "", srow, s.label);
          });
        }
        if (l.note) { CM.el("div", "cm-panel-note", item, l.note); }
      });
    });
    if (cfg.status.length) {
      var st = CM.el("fieldset", "cm-panel-group", body);
      CM.el("legend", "", st, cfg.statusTitle);
      cfg.status.forEach(function (s) {
        var r = CM.el("div", "cm-panel-subrow", st);
        CM.el("span", "cm-swatch", r).innerHTML = s.svg;
        CM.el("span", "", r, s.label);
      });
    }
    cfg.notes.forEach(function (n) { CM.el("p", "cm-panel-note", body, n); });
    var tools = CM.el("div", "cm-panel-tools", body);
    [["Copy link to this view", function () { CM.copyLink(map, this); }],
     ["Save view as PNG", function () { CM.savePng(map); }],
     ["Print A4", function () { CM.print(map, "A4"); }],
     ["Print A3", function () { CM.print(map, "A3"); }]].forEach(function (t) {
      var b = CM.el("button", "cm-tool", tools, t[0]);
      b.type = "button";
      b.onclick = t[1];
    });

    ctl.onAdd = function () {
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    ctl.addTo(map);
    // a closing popup fades out for 200 ms: it must not catch the next click meant for the map
    map.on("popupclose", function (e) {
      var c = e.popup.getElement && e.popup.getElement();
      if (c) { c.style.pointerEvents = "none"; }
    });
    map.on("popupopen", function (e) {
      var c = e.popup.getElement && e.popup.getElement();
      if (!c) { return; }
      c.style.pointerEvents = "";
      if (!c._cmToggle) { // a section opened or closed: the popup is laid out and panned clear again
        c._cmToggle = true;
        c.addEventListener("toggle", function () {
          var p = e.popup; // (update() would re-render the content and close the section again)
          if (p.isOpen()) { p._updateLayout(); p._updatePosition(); p._adjustPan(); }
        }, true);
      }
    });
    function sync() {
      Object.keys(boxes).forEach(function (k) {
        var on = map.hasLayer(layers[k]);
        boxes[k].checked = on;
        items[k].classList.toggle("cm-off", !on); // (an image or print shows the legend of what is on)
      });
      sections.forEach(function (s) {
        s.element.classList.toggle("cm-off", !s.keys.some(function (k) { return map.hasLayer(layers[k]); }));
      });
      Object.keys(radios).forEach(function (k) { radios[k].checked = CM.baseKey === k; });
    }
    map.on("layeradd layerremove cm:layers cm:base", sync);
    CM.panelState = { layers: layers, bases: bases, element: div, defaultBase: cfg.defaultBase, fit: cfg.fit };
    CM.setBase(map, cfg.defaultBase);
    CM.view(map);
    sync();
  };

  /* the basemap: a tile layer over the offline vector basemap, or the vector basemap alone */
  CM.setBase = function (map, key) {
    var st = CM.panelState;
    if (!st || !(key in st.bases)) { return; }
    Object.keys(st.bases).forEach(function (k) {
      var ref = st.bases[k];
      if (ref && k !== key && map.hasLayer(ref)) { map.removeLayer(ref); }
    });
    var chosen = st.bases[key];
    map.getContainer().classList.remove("cm-tiles-live");
    if (chosen && !map.hasLayer(chosen)) {
      chosen.once("tileload", function () { if (CM.baseKey === key) { map.getContainer().classList.add("cm-tiles-live"); } });
      map.addLayer(chosen);
    }
    CM.baseKey = key;
    map.fire("cm:base");
  };

  /* ---- the view in the URL hash: #map=zoom/lat/lng&layers=a,b&base=k (works from file://) ---- */
  CM.viewHash = function (map) {
    var st = CM.panelState, c = map.getCenter(), on = [];
    Object.keys(st.layers).forEach(function (k) { if (map.hasLayer(st.layers[k])) { on.push(k); } });
    return "#map=" + map.getZoom() + "/" + c.lat.toFixed(4) + "/" + c.lng.toFixed(4) +
      "&layers=" + on.map(encodeURIComponent).join(",") + "&base=" + encodeURIComponent(CM.baseKey || "");
  };

  CM.parseHash = function (hash) {
    var out = {};
    String(hash || "").replace(/^#/, "").split("&").forEach(function (part) {
      var i = part.indexOf("=");
      if (i > 0) { out[part.slice(0, i)] = part.slice(i + 1); }
    });
    var m = /^(\d{1,2})\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(out.map || "");
    return {
      view: m ? { zoom: +m[1], lat: +m[2], lng: +m[3] } : null,
      layers: "layers" in out ? out.layers.split(",").filter(Boolean).map(decodeURIComponent) : null,
      base: out.base ? decodeURIComponent(out.base) : null
    };
  };

  CM.view = function (map) {
    var st = CM.panelState, want = CM.parseHash(window.location.hash), writing = false;
    if (want.base && want.base in st.bases) { CM.setBase(map, want.base); }
    if (want.layers) {
      Object.keys(st.layers).forEach(function (k) {
        var on = want.layers.indexOf(k) >= 0, ref = st.layers[k];
        if (on && !map.hasLayer(ref)) { map.addLayer(ref); }
        if (!on && map.hasLayer(ref)) { map.removeLayer(ref); }
      });
    }
    if (want.view && Math.abs(want.view.lat) <= 90 && Math.abs(want.view.lng) <= 180) {
      map.setView([want.view.lat, want.view.lng], want.view.zoom, { animate: false }); // the shared view
    } else if (st.fit) {
      map.fitBounds(st.fit, { animate: false }); // the opening view: the corridor
    }
    function write() {
      if (writing) { return; }
      writing = true;
      setTimeout(function () {
        writing = false;
        var hash = CM.viewHash(map);
        if (window.location.hash === hash) { return; }
        try { window.history.replaceState(null, "", hash); } catch (e) { window.location.replace(hash); }
      }, 150);
    }
    map.on("moveend zoomend cm:layers cm:base overlayadd overlayremove", write);
    window.addEventListener("hashchange", function () {
      var w = CM.parseHash(window.location.hash);
      if (w.view) {
        var c = map.getCenter();
        if (Math.abs(c.lat - w.view.lat) > 1e-3 || Math.abs(c.lng - w.view.lng) > 1e-3 || map.getZoom() !== w.view.zoom) {
          map.setView([w.view.lat, w.view.lng], w.view.zoom);
        }
      }
    });
  };

  CM.copyLink = function (map, button) {
    var url = window.location.href.split("#")[0] + CM.viewHash(map);
    function done(text) { var old = button.textContent; button.textContent = text; setTimeout(function () { button.textContent = old; }, 1600); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(url).then(function () { done("Link copied"); }, function () { window.prompt("Copy this link", url); });
    } else { window.prompt("Copy this link", url); }
  };

  /* ---- the view as an image, with the title and the legend: capture mode opens the panel and
   * hides the buttons; tiles that cannot be read are left out (the vector basemap stays) ---- */
  CM.capturePng = function (map) {
    if (!window.htmlToImage) { return Promise.reject(new Error("image export is not available")); }
    var box = map.getContainer(), st = CM.panelState, wasCollapsed = st.element.classList.contains("collapsed");
    map.closePopup();
    box.classList.add("cm-capture");
    st.element.classList.remove("collapsed");
    var blank = "data:image/gif;base64,R0lGODlhAQABAAAAACw=";
    function restore() { box.classList.remove("cm-capture"); if (wasCollapsed) { st.element.classList.add("collapsed"); } }
    return window.htmlToImage.toPng(box, {
      pixelRatio: 1, skipFonts: true, imagePlaceholder: blank, cacheBust: false,
      filter: function (node) {
        if (node.tagName === "IMG" && (!node.complete || !node.naturalWidth)) { return false; } // tiles that did not load
        return !(node.classList && node.classList.contains("cm-no-capture"));
      }
    }).then(function (url) { restore(); return url; }, function (err) { restore(); throw err; });
  };

  CM.savePng = function (map) {
    return CM.capturePng(map).then(function (url) {
      var a = document.createElement("a");
      a.href = url;
      a.download = "corridor-map.png";
      document.body.appendChild(a);
      a.click();
      a.remove();
    }, function (err) { window.alert("The image could not be made: " + err); });
  };

  CM.print = function (map, size) {
    var style = document.getElementById("cm-page-size") || CM.el("style", "", document.head);
    style.id = "cm-page-size";
    style.textContent = "@page { size: " + size + " landscape; margin: 8mm; }";
    document.body.classList.add("cm-print-" + size);
    CM.panelState.element.classList.remove("collapsed");
    map.closePopup();
    map.invalidateSize({ animate: false });
    setTimeout(function () {
      window.print();
      document.body.classList.remove("cm-print-" + size);
      map.invalidateSize({ animate: false });
    }, 50);
  };
})();
