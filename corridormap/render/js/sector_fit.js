/* corridormap "Sector fit" view: choose a sector; industrial nodes are drawn sized and coloured by
 * their fit (0-100) for it, and each popup says why (the largest contributions, what could not be
 * assessed, the rank and how it moves under ±20 % weights).
 *
 *   corridormapSectorFit.view(map, options)   add the control; options.data names the JSON block
 *   view.show(sectorId)                        draw one sector ("" hides the view)
 *   view.layer                                 the L.LayerGroup of the drawn nodes
 *
 * Data arrive as a JSON block written after the page's templates rendered; every text from it is
 * placed with textContent, never as HTML.
 */
(function (root) {
  "use strict";
  var SF = (root.corridormapSectorFit = root.corridormapSectorFit || {});
  // sequential ramp, low fit -> high fit (ColorBrewer YlGnBu, 5 classes)
  var RAMP = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"];

  function colour(fit) {
    if (fit === null) return "#bbbbbb";
    return RAMP[Math.min(RAMP.length - 1, Math.floor(fit / (100 / RAMP.length)))];
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function popup(data, node, row, sector) {
    var box = el("div", null, "cm-sf-popup");
    box.appendChild(el("strong", node.name));
    box.appendChild(el("div", sector.title + ": " + (row.fit === null ? data.labels.not_assessed : row.fit.toFixed(1) + " / 100")));
    if (row.rank !== null) {
      box.appendChild(el("div", data.labels.rank.replace("{rank}", row.rank).replace("{of}", data.nodes.length) +
        " (" + data.labels.range.replace("{range}", row.rank_min + "–" + row.rank_max) + ")"));
    }
    var list = el("ul");
    row.parts.forEach(function (p) { list.appendChild(el("li", p[0] + ": " + p[1].toFixed(1) + " " + data.labels.pts)); });
    box.appendChild(list);
    if (row.missing.length) box.appendChild(el("div", data.labels.not_assessed + ": " + row.missing.join("; "), "cm-sf-missing"));
    if (row.share < 1) box.appendChild(el("div", data.labels.share.replace("{share}", Math.round(row.share * 100) + " %")));
    return box;
  }

  SF.view = function (map, options) {
    var data = JSON.parse(document.getElementById(options.data).textContent);
    var view = { layer: L.layerGroup(), data: data };
    var Control = L.Control.extend({
      options: { position: options.position || "bottomleft" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "leaflet-bar cm-sector-fit");
        div.appendChild(el("label", data.labels.title, "cm-sf-title"));
        var select = el("select");
        select.setAttribute("aria-label", data.labels.title);
        var off = el("option", data.labels.off);
        off.value = "";
        select.appendChild(off);
        data.sectors.forEach(function (s) { var o = el("option", s.title); o.value = s.id; select.appendChild(o); });
        div.appendChild(select);
        var legend = el("div", null, "cm-sf-legend");
        RAMP.forEach(function (c, i) {
          var sw = el("span", (i * 100 / RAMP.length) + "–" + ((i + 1) * 100 / RAMP.length));
          sw.style.background = c;
          sw.style.color = i >= 3 ? "#fff" : "#222";
          legend.appendChild(sw);
        });
        legend.style.display = "none";
        div.appendChild(legend);
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        L.DomEvent.on(select, "change", function () { view.show(select.value); });
        view.select = select;
        view.legend = legend;
        return div;
      }
    });
    view.control = new Control().addTo(map);
    view.show = function (sectorId) {
      view.layer.clearLayers();
      if (view.select.value !== sectorId) view.select.value = sectorId;
      view.legend.style.display = sectorId ? "flex" : "none";
      if (!sectorId) { map.removeLayer(view.layer); return; }
      var sector = data.sectors.filter(function (s) { return s.id === sectorId; })[0];
      var rows = data.fit[sectorId];
      data.nodes.forEach(function (node, i) {
        var row = rows[i];
        var marker = L.circleMarker([node.lat, node.lon], {
          radius: row.fit === null ? 4 : 4 + row.fit / 100 * 12,
          color: "#333", weight: 1, fillColor: colour(row.fit), fillOpacity: 0.9, pane: "markerPane"
        });
        marker.bindPopup(popup(data, node, row, sector));
        marker.bindTooltip(node.name + ": " + (row.fit === null ? "–" : row.fit.toFixed(0)));
        marker.cmNode = node.id;
        view.layer.addLayer(marker);
      });
      view.layer.addTo(map);
    };
    return view;
  };
})(window);
