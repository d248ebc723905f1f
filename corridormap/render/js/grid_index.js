/* corridormap large layers (2/3): a uniform grid over feature bounding boxes.
 *
 * Each feature is listed in every cell its box touches (features spanning many cells go to a short
 * list checked on every query), so drawing a tile or hit-testing a click touches only the features
 * near it. Boxes are (minx, miny, maxx, maxy) in Web Mercator metres, four per feature.
 */
(function gridIndexFactory(root) {
  "use strict";
  var CM = (root.corridormapBig = root.corridormapBig || {});
  var WIDE_CELLS = 64;
  /* This file for the decoding worker (js/decode.js, CM.workerSource), which builds each layer's
   * index with its data, so the page's thread does not. */
  CM.gridIndexSource = "(" + gridIndexFactory.toString() + ")(self);";

  CM.GridIndex = function (bbox, n) {
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, f;
    for (f = 0; f < n; f++) {
      x0 = Math.min(x0, bbox[4 * f]);
      y0 = Math.min(y0, bbox[4 * f + 1]);
      x1 = Math.max(x1, bbox[4 * f + 2]);
      y1 = Math.max(y1, bbox[4 * f + 3]);
    }
    var g = Math.max(1, Math.min(256, Math.round(Math.sqrt(n / 4))));
    this.bbox = bbox;
    this.g = g;
    this.x0 = n ? x0 : 0;
    this.y0 = n ? y0 : 0;
    this.cw = n ? (x1 - x0) / g || 1 : 1;
    this.ch = n ? (y1 - y0) / g || 1 : 1;
    this.stamp = new Uint32Array(n);
    this.queryId = 0;
    this.wide = [];
    var start = new Int32Array(g * g + 1), span = new Int32Array(4 * n), wide = new Uint8Array(n), i, j, c;
    var gx = this.x0, gy = this.y0, cw = this.cw, ch = this.ch, last = g - 1, i0, j0, i1, j1;
    for (f = 0; f < n; f++) { // (typed arrays, no array per feature: a million features index fast)
      // the cells (i0, j0)-(i1, j1) the box spans
      i0 = Math.floor((bbox[4 * f] - gx) / cw);
      j0 = Math.floor((bbox[4 * f + 1] - gy) / ch);
      i1 = Math.floor((bbox[4 * f + 2] - gx) / cw);
      j1 = Math.floor((bbox[4 * f + 3] - gy) / ch);
      i0 = i0 < 0 ? 0 : i0 > last ? last : i0;
      j0 = j0 < 0 ? 0 : j0 > last ? last : j0;
      i1 = i1 < 0 ? 0 : i1 > last ? last : i1;
      j1 = j1 < 0 ? 0 : j1 > last ? last : j1;
      span[4 * f] = i0;
      span[4 * f + 1] = j0;
      span[4 * f + 2] = i1;
      span[4 * f + 3] = j1;
      if ((i1 - i0 + 1) * (j1 - j0 + 1) > WIDE_CELLS) {
        wide[f] = 1;
        this.wide.push(f);
        continue;
      }
      for (j = j0; j <= j1; j++) {
        for (i = i0; i <= i1; i++) start[j * g + i + 1]++;
      }
    }
    for (c = 0; c < g * g; c++) start[c + 1] += start[c];
    var fill = start.slice(0, g * g), items = new Int32Array(start[g * g]);
    for (f = 0; f < n; f++) {
      if (wide[f]) continue;
      for (j = span[4 * f + 1]; j <= span[4 * f + 3]; j++) {
        for (i = span[4 * f]; i <= span[4 * f + 2]; i++) items[fill[j * g + i]++] = f;
      }
    }
    this.start = start;
    this.items = items;
  };

  /* The index as plain data to send between threads ({g, x0, y0, cw, ch, start, items, wide}: the
   * arrays transferable) and back (CM.GridIndex.of, with the same boxes). */
  CM.GridIndex.prototype.parts = function () {
    return { g: this.g, x0: this.x0, y0: this.y0, cw: this.cw, ch: this.ch, start: this.start, items: this.items, wide: this.wide };
  };
  CM.GridIndex.of = function (bbox, n, parts) {
    var index = Object.create(CM.GridIndex.prototype);
    for (var k in parts) index[k] = parts[k];
    index.bbox = bbox;
    index.stamp = new Uint32Array(n);
    index.queryId = 0;
    return index;
  };

  /* Features whose box meets (x0, y0, x1, y1), written into `out`. */
  CM.GridIndex.prototype.query = function (x0, y0, x1, y1, out) {
    var b = this.bbox, stamp = this.stamp, items = this.items, start = this.start, wide = this.wide;
    var q = ++this.queryId, f, k, g = this.g, last = g - 1;
    out.length = 0;
    if (x1 >= this.x0 && y1 >= this.y0 && x0 <= this.x0 + this.cw * g && y0 <= this.y0 + this.ch * g) {
      // the cells the query spans
      var i0 = Math.floor((x0 - this.x0) / this.cw), j0 = Math.floor((y0 - this.y0) / this.ch);
      var i1 = Math.floor((x1 - this.x0) / this.cw), j1 = Math.floor((y1 - this.y0) / this.ch);
      i0 = i0 < 0 ? 0 : i0 > last ? last : i0;
      j0 = j0 < 0 ? 0 : j0 > last ? last : j0;
      i1 = i1 < 0 ? 0 : i1 > last ? last : i1;
      j1 = j1 < 0 ? 0 : j1 > last ? last : j1;
      for (var j = j0; j <= j1; j++) {
        for (var i = i0; i <= i1; i++) {
          var c = j * g + i;
          for (k = start[c]; k < start[c + 1]; k++) {
            f = items[k];
            if (stamp[f] === q) continue;
            stamp[f] = q;
            if (b[4 * f] <= x1 && b[4 * f + 2] >= x0 && b[4 * f + 1] <= y1 && b[4 * f + 3] >= y0) out.push(f);
          }
        }
      }
    }
    for (k = 0; k < wide.length; k++) {
      f = wide[k];
      if (b[4 * f] <= x1 && b[4 * f + 2] >= x0 && b[4 * f + 1] <= y1 && b[4 * f + 3] >= y0) out.push(f);
    }
    return out;
  };
})(typeof window !== "undefined" ? window : self);
