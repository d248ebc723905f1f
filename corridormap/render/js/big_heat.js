/* corridormap large layers: the heat map of a large point layer, drawn from the layer's own points.
 *
 * The page carries the points once, in the large layer's payload (corridormap/render/big.py); this
 * heat map (a leaflet.heat layer, written by corridormap/render/heat.py) reads them back from the
 * decoded layer (layer.points(): Web Mercator metres, one point per feature) and turns them into
 * latitude and longitude. It does so the first time it is switched on, once the layer has decoded
 * (layer.ready): switched on earlier, it fills in then. A weighted heat map's weights come in their
 * own data block: one byte a feature (weight = byte / 255 of the largest; 0 = no heat, left out),
 * zlib-deflated, as the 7-bit text of CM.text7Bytes.
 *
 *   corridormapBig.heat(layer, options)   the heat map of a large point layer (options from heat.py)
 *   heat.filled                           resolves once its points are in (after the first switch on)
 */
(function (root) {
  "use strict";
  var CM = (root.corridormapBig = root.corridormapBig || {});
  var R = 6378137, DEG = 180 / Math.PI, HALF_PI = Math.PI / 2;
  var HeatLayer = null;

  /* One byte a feature from the weights block (its text is dropped from the page once read). */
  function weightBytes(text, n) {
    return CM.inflate(CM.text7Bytes(text)).then(function (bytes) {
      if (bytes.length !== n) throw new Error("corridormap: corrupt heat map weights (" + bytes.length + " for " + n + " features)");
      return bytes;
    });
  }

  /* [lat, lng, weight] of each feature with heat: L.Projection.SphericalMercator.unproject, inline. */
  function heatPoints(pts, w) {
    var xs = pts.xs, ys = pts.ys, n = xs.length, out = [];
    for (var f = 0; f < n; f++) {
      if (w && !w[f]) continue;
      out.push([(2 * Math.atan(Math.exp(ys[f] / R)) - HALF_PI) * DEG, (xs[f] * DEG) / R, w ? w[f] / 255 : 1]);
    }
    return out;
  }

  function heatClass() {
    if (HeatLayer) return HeatLayer;
    HeatLayer = L.HeatLayer.extend({
      initialize: function (big, opts) {
        L.HeatLayer.prototype.initialize.call(this, [], opts.heat);
        this._big = big;
        this._weightsText = null;
        this.filled = null;
        if (opts.weights) {
          var el = document.getElementById(opts.weights);
          this._weightsText = el.textContent;
          el.textContent = ""; // the page keeps no second copy
        }
      },

      onAdd: function (map) {
        L.HeatLayer.prototype.onAdd.call(this, map);
        this.fill().catch(function (err) { // (a layer that cannot decode says so itself)
          if (root.console) root.console.error("corridormap: heat map not drawn: " + ((err && err.message) || err));
        });
      },

      /* Read the large layer's points (once it has decoded) and the weights; redraws if shown. */
      fill: function () {
        if (this.filled) return this.filled;
        var self = this, big = this._big, text = this._weightsText;
        this._weightsText = null;
        this.filled = big.ready.then(function () {
          var pts = big.points();
          return text === null ? null : weightBytes(text, pts.xs.length);
        }).then(function (w) {
          self.setLatLngs(heatPoints(big.points(), w));
          self.fire("cm:filled");
          return self;
        });
        return this.filled;
      },
    });
    return HeatLayer;
  }

  CM.heat = function (big, opts) {
    var Heat = heatClass();
    return new Heat(big, opts);
  };
})(window);
