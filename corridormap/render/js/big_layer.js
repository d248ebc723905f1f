/* corridormap large layers (3/3): a Leaflet GridLayer that draws decoded features on canvas tiles.
 *
 * Each 512-px tile asks the grid index for the features near its part on screen and draws them,
 * grouped by style, at the simplification level for the tile's zoom: a zoom or a pan draws only
 * what is on screen (a tile draws more when a pan brings more of it into view). Lines and markers
 * are rasterised here into the tile's pixels (CM.lineRaster, blend); polygons by the canvas.
 * Clicks and hovers on the map are hit-tested against the index of every large layer on the map
 * (topmost pane first) to open the feature's popup or show its tooltip. Popup tables are assembled
 * from the layer's columnar attributes, whose values were escaped when the map was built.
 *
 *   corridormapBig.layer(options)        the layer (options written by big.py)
 *   corridormapBig.layers[name]          layers by catalog name
 *   corridormapBig.search(map, text)     features whose name contains text: [{layer, feature, name, label}]
 *   corridormapBig.openAt(map, latlng)   open the popup of the large-layer feature there (a chooser where several lie on each other)
 *   layer.focus(feature)                 zoom to a feature and open its popup
 *   layer.latLngs(feature, level)        decoded rings as [[lat, lng], ...] (tests read these back)
 *   layer.points()                       one point per feature, Web Mercator metres (big_heat.js reads them)
 *   corridormapBig.whenDrawn()           resolves once every layer has painted its coarse part
 *   corridormapBig.whenReady()           resolves once every layer has decoded its whole payload
 *   corridormapBig.decoder(msg, layer)   a layer's decoder on the layers' shared worker (coarse part, then fine part)
 *   corridormapBig.early(msg)            send a coarse part to the worker as soon as the parser has read it (big.py
 *                                        writes the call after the block)
 */
(function (root) {
  "use strict";
  var CM = (root.corridormapBig = root.corridormapBig || {});
  var HALF = 20037508.342789244, WORLD = 2 * HALF;
  CM.layers = CM.layers || {};

  /* The coarsest level whose tolerance is at most one pixel at zoom z (levels are half a pixel
   * at their own zoom, so a level serves its zoom and the one below). */
  function levelFor(zooms, z) {
    for (var k = 0; k < zooms.length; k++) if (zooms[k] >= z - 1) return k;
    return zooms.length;
  }
  function column(col, i) {
    return col.c ? col.d[col.c[i]] : col.v[i];
  }
  function dashes(text) {
    return text ? String(text).split(/[\s,]+/).filter(Boolean).map(Number) : [];
  }
  /* Whether the edge (xa, ya)-(xb, yb) crosses the ray from (x, y) towards +x: `inside` flipped if so. */
  function crosses(inside, x, y, xa, ya, xb, yb) {
    if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) return !inside;
    return inside;
  }
  function segDist2(px, py, ax, ay, bx, by) {
    var dx = bx - ax, dy = by - ay, l = dx * dx + dy * dy;
    var t = l ? ((px - ax) * dx + (py - ay) * dy) / l : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    var qx = ax + t * dx - px, qy = ay + t * dy - py;
    return qx * qx + qy * qy;
  }

  /* Source-over of sprite sp's premultiplied pixels onto px (W x H premultiplied RGBA words, an
   * Int32Array: all the arithmetic stays in 32-bit integers) at (x0, y0). */
  function blend(px, W, H, sp, x0, y0) {
    var n = sp.col.length, size = sp.size;
    if (x0 >= W || y0 >= H || x0 + size <= 0 || y0 + size <= 0) return;
    var dx = sp.dx, dy = sp.dy, col = sp.col, inv = sp.inv, inside = x0 >= 0 && y0 >= 0 && x0 + size <= W && y0 + size <= H;
    for (var k = 0; k < n; k++) {
      var x = x0 + dx[k], y = y0 + dy[k];
      if (!inside && (x < 0 || y < 0 || x >= W || y >= H)) continue;
      var o = y * W + x;
      px[o] = over(col[k], inv[k], px[o]);
    }
  }

  /* Premultiplied word src over dst, where ia is 255 less src's alpha (integer arithmetic). */
  function over(src, ia, dst) {
    if (ia === 0 || dst === 0) return src;
    // (Math.imul and | 0: the products pass 2^31, and plain * would take them to doubles)
    var rb = (((Math.imul(dst & 0xff00ff, ia) + 0x800080) | 0) >>> 8) & 0xff00ff;
    var ag = ((Math.imul((dst >>> 8) & 0xff00ff, ia) + 0x800080) | 0) & 0xff00ff00;
    return (src + rb + ag) | 0;
  }

  /* Premultiplied RGBA words back to the straight alpha ImageData holds. */
  var UNPREMULTIPLY = new Float64Array(256); // 255 / alpha
  for (var a = 1; a < 256; a++) UNPREMULTIPLY[a] = 255 / a;
  function unpremultiply(px, from, to) {
    var F = UNPREMULTIPLY;
    for (var o = from; o < to; o++) {
      var w = px[o], a = w >>> 24;
      if (a === 0 || a === 255) continue;
      var f = F[a], r = (((w >>> 16) & 255) * f + 0.5) | 0, g = (((w >>> 8) & 255) * f + 0.5) | 0, b = ((w & 255) * f + 0.5) | 0;
      px[o] = (a << 24) | ((r > 255 ? 255 : r) << 16) | ((g > 255 ? 255 : g) << 8) | (b > 255 ? 255 : b);
    }
  }

  /* Antialiased wide lines on a W x H pixel grid: segments (moveTo/lineTo, in pixels) add their
   * coverage (0-255, the largest wins) to a buffer; composite() blends it, in one colour and
   * opacity, into premultiplied RGBA words and clears it. Solid lines get round joins and caps
   * (each segment a capsule: pixel coverage from its distance to the segment); dashes (pixel
   * lengths, restarting at each moveTo as a canvas's do) have butt ends. */
  CM.lineRaster = function (W, H) {
    var cov = new Uint8Array(W * H), touched = new Int32Array(1024), nt = 0;
    var hw = 1, pat = [], patSum = 0, di = 0, rem = 0, cx = 0, cy = 0;

    function mark(o) { // pixel o's coverage becomes non-zero
      if (nt === touched.length) {
        var grown = new Int32Array(2 * nt);
        grown.set(touched);
        touched = grown;
      }
      touched[nt++] = o;
    }

    /* Coverage of segment (x0, y0)-(x1, y1): a capsule if round, else butt-ended. Walks the
     * major axis; across it, only the pixels whose centre is within reach (hw + 0.5) of the line. */
    function segment(x0, y0, x1, y1, round) {
      var reach = hw + 0.5, reach2 = reach * reach, ext = reach + 1;
      if (Math.max(x0, x1) + ext < 0 || Math.min(x0, x1) - ext > W || Math.max(y0, y1) + ext < 0 || Math.min(y0, y1) - ext > H) return;
      var dx = x1 - x0, dy = y1 - y0, len = Math.sqrt(dx * dx + dy * dy);
      if (len < 1e-9 && !round) return;
      var ux = len >= 1e-9 ? dx / len : 1, uy = len >= 1e-9 ? dy / len : 0, steep = Math.abs(dy) > Math.abs(dx);
      var a0 = steep ? y0 : x0, a1 = steep ? y1 : x1, b0 = steep ? x0 : y0, b1 = steep ? x1 : y1, slope = steep ? (dy ? dx / dy : 0) : (dx ? dy / dx : 0);
      var lim = steep ? H : W, other = steep ? W : H, half = reach * Math.sqrt(1 + slope * slope);
      var amin = a0 < a1 ? a0 : a1, amax = a0 < a1 ? a1 : a0;
      var lo = Math.max(0, Math.floor(amin - reach - 0.5)), hi = Math.min(lim - 1, Math.floor(amax + reach - 0.5) + 1);
      // pixel (a, b) is at offset a * sa + b * sb; along the line u, across it n (in (a, b) terms)
      var C = cov, sa = steep ? W : 1, sb = steep ? 1 : W, ua = steep ? uy : ux, ub = steep ? ux : uy;
      for (var a = lo; a <= hi; a++) {
        var ac = a + 0.5, ab = ac < amin ? amin : ac > amax ? amax : ac, bc = b0 + (ab - a0) * slope;
        var blo = Math.max(0, Math.ceil(bc - half - 0.5)), bhi = Math.min(other - 1, Math.floor(bc + half - 0.5));
        var ra = ac - a0, rb = blo + 0.5 - b0, ea = ac - a1, eb = rb - (b1 - b0);
        var along = ra * ua + rb * ub, across = rb * ua - ra * ub, o = a * sa + blo * sb;
        for (var b = blo; b <= bhi; b++, rb += 1, eb += 1, along += ub, across += ua, o += sb) {
          var c, n = across < 0 ? -across : across;
          if (n >= reach) continue; // beyond the line (and so beyond either end's disc too)
          if (round) {
            if (along >= 0 && along <= len) c = reach - n;
            else {
              var e2 = along < 0 ? ra * ra + rb * rb : ea * ea + eb * eb;
              if (e2 >= reach2) continue;
              c = reach - Math.sqrt(e2);
            }
          } else {
            c = reach - n;
            if (along + 0.5 < c) c = along + 0.5;
            if (len - along + 0.5 < c) c = len - along + 0.5;
          }
          if (c <= 0) continue;
          var v = c >= 1 ? 255 : (c * 255 + 0.5) | 0;
          if (v > C[o]) {
            if (C[o] === 0) mark(o);
            C[o] = v;
          }
        }
      }
    }

    return {
      W: W,
      H: H,
      style: function (halfWidth, dash) {
        hw = halfWidth;
        var sum = 0;
        for (var i = 0; i < dash.length; i++) {
          if (!(dash[i] >= 0) || !isFinite(dash[i])) { dash = []; sum = 0; break; } // as a canvas ignores it
          sum += dash[i];
        }
        pat = sum > 0 ? (dash.length % 2 ? dash.concat(dash) : dash) : [];
        patSum = sum;
      },
      moveTo: function (x, y) {
        cx = x;
        cy = y;
        di = 0;
        rem = pat.length ? pat[0] : 0;
      },
      lineTo: function (x, y) {
        if (!pat.length || !patSum) {
          segment(cx, cy, x, y, true);
        } else {
          var dx = x - cx, dy = y - cy, len = Math.sqrt(dx * dx + dy * dy), pos = 0;
          while (pos < len) {
            var step = Math.min(rem, len - pos);
            if (di % 2 === 0 && step > 0) {
              segment(cx + (dx * pos) / len, cy + (dy * pos) / len, cx + (dx * (pos + step)) / len, cy + (dy * (pos + step)) / len, false);
            }
            pos += step;
            rem -= step;
            if (rem <= 0) {
              di = (di + 1) % pat.length;
              rem = pat[di];
            }
          }
        }
        cx = x;
        cy = y;
      },
      /* Blend the coverage in `color` (CSS hex or rgb()) at `opacity` into px, and clear it. */
      composite: function (px, color, opacity) {
        var rgb = parseColor(color), table = new Int32Array(256), inv = new Int32Array(256);
        for (var c = 0; c < 256; c++) {
          var al = Math.round(c * Math.max(0, Math.min(1, opacity)));
          table[c] = (al << 24) | (Math.round((rgb[2] * al) / 255) << 16) | (Math.round((rgb[1] * al) / 255) << 8) | Math.round((rgb[0] * al) / 255);
          inv[c] = 255 - al;
        }
        for (var i = 0; i < nt; i++) {
          var o = touched[i], cv = cov[o];
          cov[o] = 0;
          px[o] = over(table[cv], inv[cv], px[o]);
        }
        nt = 0;
      },
    };
  };

  /* [r, g, b] of a CSS colour, as a canvas reads it. */
  var colorCtx = null, colors = {};
  function parseColor(color) {
    if (colors[color]) return colors[color];
    if (!colorCtx) {
      var c = document.createElement("canvas");
      c.width = c.height = 1;
      colorCtx = c.getContext("2d", { willReadFrequently: true });
    }
    colorCtx.clearRect(0, 0, 1, 1);
    colorCtx.fillStyle = "#000";
    colorCtx.fillStyle = color;
    colorCtx.fillRect(0, 0, 1, 1);
    var d = colorCtx.getImageData(0, 0, 1, 1).data;
    return (colors[color] = [d[0], d[1], d[2]]);
  }

  CM.BigLayer = L.GridLayer.extend({
    options: { updateWhenZooming: false, keepBuffer: 1, tileSize: 512 },

    initialize: function (opts) {
      L.GridLayer.prototype.initialize.call(this, { pane: opts.pane || "overlayPane", tileSize: opts.tileSize || 512 });
      this.cm = opts;
      this.data = null;
      this._ids = [];
      var pad = 1;
      opts.styles.forEach(function (s) {
        pad = Math.max(pad, (s.weight || 0) / 2 + (opts.kind === "point" ? s.radius || 0 : 0) + 1);
      });
      this._padPx = pad;
      this._pool = [];
      this.on("tileunload", this._recycle, this);
      this._hitPx = pad + 4;
      this.ready = this._load();
      CM.layers[opts.name] = this;
    },

    /* Decode the coarse part at once (in the shared worker, CM.decoder) and paint it; the fine part once
     * every layer has painted, then paint again only where the zoom wants a finer level than the
     * coarse part has. */
    _load: function () {
      var self = this, o = this.cm;
      function take(k) { // a part's text, once (the page keeps no second copy)
        var el = document.getElementById(o.payload[k]), text = el ? el.textContent : "";
        if (el) el.textContent = "";
        return text;
      }
      var decoder = CM.decoder({
        id: o.payload.coarse, coarse: take("coarse"), counts: o.counts, steps: o.steps, deflate: o.deflate, split: o.split,
        levels: o.zooms.length,
      }, this);
      this.drawn = decoder.coarse().then(function (d) {
        self._setData(d, o.split);
        return self;
      });
      // the fine part and the popup table wait until every layer's first paint is on screen (and
      // are read from the page only then): on a laptop's few cores they would otherwise hold it up
      var shown = this.drawn.then(CM.whenDrawn).then(CM.afterPaint);
      var full = shown.then(function () {
        return decoder.full(take("fine"));
      });
      var attrsReady = shown.then(function () {
        return CM.inflate(CM.text7Bytes(take("attributes")));
      }).then(function (raw) {
        self.attrs = JSON.parse(new TextDecoder().decode(raw));
      });
      full.then(decoder.close, decoder.close);
      var ready = Promise.all([full, attrsReady, this.drawn]).then(function (done) {
        self._setData(done[0], o.zooms.length);
        self.fire("cm:ready");
        return self;
      });
      // a part that does not decode (a file cut short in its fine part or table: pack.js says so to
      // the reader) is said once in the console, not thrown: the coarse part stays drawn
      ready.catch(function (err) {
        var why = (err && err.message) || err;
        if (root.console) root.console.error("corridormap: layer " + o.name + " not fully decoded: " + why);
      });
      return ready;
    },

    /* Draw from `d` (levels up to `top`): a new index, and the tiles again if their level changes. */
    _setData: function (d, top) {
      var before = this.data;
      d.top = top;
      this.data = d;
      this._vertLevels = d.levels || {}; // the worker builds them; a coarse part's, on first use
      var n = this.cm.counts.features; // (the worker sends the index it built; a page decoding itself builds it here)
      this.index = d.index ? CM.GridIndex.of(d.bbox, n, d.index) : new CM.GridIndex(d.bbox, n);
      if (!this._map || !this._container) return; // not drawn yet (onAdd waits for the map to load)
      var z = this._tileZoom == null ? Math.round(this._map.getZoom()) : this._tileZoom;
      if (!before || levelFor(this.cm.zooms, z) > before.top) this.redraw();
    },

    /* The level drawn at zoom z: levelFor, within the levels decoded so far. */
    _levelAt: function (z) {
      return Math.min(levelFor(this.cm.zooms, z), this.data.top);
    },

    onAdd: function (map) {
      L.GridLayer.prototype.onAdd.call(this, map);
      CM.attach(map);
    },

    onRemove: function (map) {
      CM.hideTooltip(map);
      L.GridLayer.prototype.onRemove.call(this, map);
    },

    /* Canvases of unloaded tiles are kept and reused: allocating a tile's pixels costs more than
     * clearing them. */
    _recycle: function (e) {
      if (this._pool.length < 64) this._pool.push(e.tile);
    },

    createTile: function (coords) {
      var size = this.getTileSize(), r = root.devicePixelRatio || 1, tile = this._pool.pop();
      if (!tile || tile.width !== size.x * r || tile.height !== size.y * r) {
        tile = L.DomUtil.create("canvas", "leaflet-tile");
        tile.width = size.x * r;
        tile.height = size.y * r;
      } else {
        tile.className = "leaflet-tile";
        tile.removeAttribute("style");
      }
      var ctx = tile.getContext("2d");
      ctx.setTransform(r, 0, 0, r, 0, 0);
      ctx.clearRect(0, 0, size.x, size.y);
      tile._cmDrawn = null;
      if (this.data) {
        tile._cmDrawn = this._clip(coords, size);
        this._drawTile(ctx, coords, size, tile._cmDrawn);
      }
      return tile;
    },

    /* The part of tile `coords` on screen (tile pixels, with a margin): a tile draws only the
     * features that meet it, so a zoom draws about one screenful, not the whole of every tile the
     * screen touches (512-px tiles over a 1366 x 768 window: nearly three screenfuls). */
    _clip: function (coords, size) {
      var b = this._cmView, m = 32, x = coords.x * size.x, y = coords.y * size.y;
      if (!b) return { x0: 0, y0: 0, x1: size.x, y1: size.y };
      return {
        x0: Math.max(0, Math.floor(b.min.x - x) - m), y0: Math.max(0, Math.floor(b.min.y - y) - m),
        x1: Math.min(size.x, Math.ceil(b.max.x - x) + m), y1: Math.min(size.y, Math.ceil(b.max.y - y) + m),
      };
    },

    /* Leaflet's tile update, then the tiles on screen drawn again where a pan or a resize has
     * brought a part they did not draw into view (they draw the union of both parts). */
    _update: function (center) {
      if (this._map && this._tileZoom !== undefined) this._cmView = this._getTiledPixelBounds(center || this._map.getCenter());
      L.GridLayer.prototype._update.call(this, center);
      if (!this.data || !this._map) return;
      var size = this.getTileSize(), r = root.devicePixelRatio || 1;
      for (var key in this._tiles) {
        var t = this._tiles[key], have = t.el._cmDrawn;
        if (!t.current || !have || t.coords.z !== this._tileZoom) continue;
        var need = this._clip(t.coords, size);
        if (need.x1 <= need.x0 || need.y1 <= need.y0) continue;
        if (need.x0 >= have.x0 && need.y0 >= have.y0 && need.x1 <= have.x1 && need.y1 <= have.y1) continue;
        var u = have.x1 <= have.x0 || have.y1 <= have.y0 ? need : {
          x0: Math.min(need.x0, have.x0), y0: Math.min(need.y0, have.y0), x1: Math.max(need.x1, have.x1), y1: Math.max(need.y1, have.y1),
        };
        var ctx = t.el.getContext("2d");
        ctx.setTransform(r, 0, 0, r, 0, 0);
        ctx.clearRect(0, 0, size.x, size.y);
        this._drawTile(ctx, t.coords, size, u);
        t.el._cmDrawn = u;
      }
    },

    /* Draw the features meeting the part `clip` of a tile (all of them, tile-wide). */
    _drawTile: function (ctx, coords, size, clip) {
      var o = this.cm, z = coords.z, scale = (256 * Math.pow(2, z)) / WORLD; // map pixels per metre
      var ox = coords.x * size.x, oy = coords.y * size.y, pad = this._padPx / scale;
      var c = clip || { x0: 0, y0: 0, x1: size.x, y1: size.y };
      if (c.x1 <= c.x0 || c.y1 <= c.y0) return;
      var ids = this.index.query((ox + c.x0) / scale - HALF - pad, HALF - (oy + c.y1) / scale - pad,
        (ox + c.x1) / scale - HALF + pad, HALF - (oy + c.y0) / scale + pad, this._ids);
      if (!ids.length) return;
      var buckets = o.styles.map(function () { return []; }), style = this.data.style;
      for (var i = 0; i < ids.length; i++) buckets[style[ids[i]]].push(ids[i]);
      var t = { lv: this._levelVerts(this._levelAt(z)), scale: scale, ax: HALF * scale - ox, ay: HALF * scale - oy };
      if (o.kind === "point") return this._drawPoints(ctx, buckets, t, size, c);
      if (o.kind === "line") return this._drawLines(ctx, buckets, t, size, c);
      for (var s = 0; s < buckets.length; s++) if (buckets[s].length) this._drawBucket(ctx, buckets[s], o.styles[s], t);
    },

    /* Polygons: a style's rings as one path, filled (even-odd) and stroked by the canvas. */
    _drawBucket: function (ctx, ids, s, t) {
      var path = "";
      for (var i = 0; i < ids.length; i++) path += this._trace(ids[i], t);
      this._paint(ctx, s, this.cm.kind, new Path2D(path));
    },

    /* Points: each style's marker (drawn once by the canvas, _sprite) is blended into the tile's
     * pixels here, source-over in premultiplied 8-bit RGBA, and the tile written at once: a
     * hundred thousand markers cost far less than as many drawImage calls. */
    _drawPoints: function (ctx, buckets, t, size, clip) {
      var r = root.devicePixelRatio || 1, W = Math.round(size.x * r), H = Math.round(size.y * r);
      var img = this._pixels(ctx, W, H, clip, r), px = img.px, d = this.data;
      for (var s = 0; s < buckets.length; s++) {
        var ids = buckets[s];
        if (!ids.length) continue;
        var sp = this._sprite(this.cm.styles[s]), h = sp.half;
        for (var i = 0; i < ids.length; i++) {
          var f = ids[i];
          for (var v = d.vertStart[d.ringStart[f]]; v < d.vertStart[d.ringStart[f + 1]]; v++) {
            var x0 = Math.round((Math.round(d.xs[v] * t.scale + t.ax) - h) * r);
            var y0 = Math.round((Math.round(t.ay - d.ys[v] * t.scale) - h) * r);
            blend(px, W, H, sp, x0, y0);
          }
        }
      }
      this._putPixels(ctx, img);
    },

    /* Lines: each style's segments are rasterised here into a coverage buffer (the largest
     * coverage of any segment at each pixel, so a style's overlapping segments blend once, as one
     * stroked path would), then composited in the style's colour and opacity, and the tile written
     * at once. Canvas strokes of a hundred thousand 2-px lines cost several times more: profiled,
     * the time went to the rasteriser's wide-stroke coverage, not to the path commands. */
    _drawLines: function (ctx, buckets, t, size, clip) {
      var r = root.devicePixelRatio || 1, W = Math.round(size.x * r), H = Math.round(size.y * r);
      var img = this._pixels(ctx, W, H, clip, r), px = img.px;
      var ras = this._raster(W, H), rs = this.data.ringStart;
      var lv = t.lv, start = lv.start, xs = lv.xs, ys = lv.ys, k = t.scale * r, ax = t.ax * r, ay = t.ay * r;
      for (var s = 0; s < buckets.length; s++) {
        var ids = buckets[s], st = this.cm.styles[s];
        if (!ids.length || st.stroke === false || !((st.weight || 0) > 0)) continue;
        ras.style((st.weight * r) / 2, dashes(st.dashArray).map(function (v) { return v * r; }));
        for (var i = 0; i < ids.length; i++) {
          for (var q = rs[ids[i]]; q < rs[ids[i] + 1]; q++) {
            var first = true, lx = 0, ly = 0, e = start[q + 1];
            for (var j = start[q]; j < e; j++) {
              var x = xs[j] * k + ax, y = ay - ys[j] * k;
              if (first) {
                ras.moveTo(x, y);
                first = false;
              } else if (j === e - 1 || Math.abs(x - lx) + Math.abs(y - ly) >= 0.5 * r) {
                ras.lineTo(x, y);
              } else continue;
              lx = x;
              ly = y;
            }
          }
        }
        ras.composite(px, st.color, st.opacity == null ? 1 : st.opacity);
      }
      this._putPixels(ctx, img);
    },

    /* A W x H ImageData (and its pixels as words), one per layer and reused: putImageData copies
     * it, and a megabyte a tile allocated at every zoom step keeps the collector busy. Only the
     * part `clip` (CSS pixels; r device pixels each) is cleared here and written by _putPixels:
     * what is drawn outside it is never shown. */
    _pixels: function (ctx, W, H, clip, r) {
      var img = this._img;
      if (!img || img.image.width !== W || img.image.height !== H) {
        var image = ctx.createImageData(W, H);
        img = this._img = { image: image, px: new Int32Array(image.data.buffer) };
      }
      img.x0 = Math.max(0, Math.floor(clip.x0 * r));
      img.y0 = Math.max(0, Math.floor(clip.y0 * r));
      img.x1 = Math.min(W, Math.ceil(clip.x1 * r));
      img.y1 = Math.min(H, Math.ceil(clip.y1 * r));
      img.px.fill(0, img.y0 * W, img.y1 * W);
      return img;
    },

    _putPixels: function (ctx, img) {
      var W = img.image.width;
      unpremultiply(img.px, img.y0 * W, img.y1 * W);
      ctx.putImageData(img.image, 0, 0, img.x0, img.y0, img.x1 - img.x0, img.y1 - img.y0);
    },

    /* The line rasteriser of a W x H tile (kept per layer and size: its buffers are reused). */
    _raster: function (W, H) {
      if (!this._ras || this._ras.W !== W || this._ras.H !== H) this._ras = CM.lineRaster(W, H);
      return this._ras;
    },

    /* Fill and stroke `path` (a Path2D; the current path if none) in style s (Leaflet's path options). */
    _paint: function (ctx, s, kind, path) {
      // butt caps and (limited) miter joins: at these widths they look the same as Leaflet's round
      // ones, and the rasteriser draws them ~10 % faster at zoom steps
      ctx.lineCap = "butt";
      ctx.lineJoin = "miter";
      ctx.miterLimit = 2;
      if (kind !== "line" && s.fill !== false) {
        ctx.globalAlpha = s.fillOpacity == null ? 0.2 : s.fillOpacity;
        ctx.fillStyle = s.fillColor || s.color;
        if (path) ctx.fill(path, "evenodd");
        else ctx.fill("evenodd");
      }
      if (s.stroke !== false && (s.weight || 0) > 0) {
        ctx.globalAlpha = s.opacity == null ? 1 : s.opacity;
        ctx.strokeStyle = s.color;
        ctx.lineWidth = s.weight;
        ctx.setLineDash(dashes(s.dashArray));
        if (path) ctx.stroke(path);
        else ctx.stroke();
      }
    },

    /* The vertices of simplification level k, per ring, their coordinates packed (CM.level):
     * {start, xs, ys}. Built once per level on first use (the worker builds the full data's). */
    _levelVerts: function (k) {
      var d = this.data;
      if (k >= d.top) return { start: d.vertStart, xs: d.xs, ys: d.ys };
      if (!this._vertLevels[k]) this._vertLevels[k] = CM.level(d, k);
      return this._vertLevels[k];
    },

    /* Feature f's rings as SVG path data (vertices under half a pixel from the last one drawn left
     * out), each ring closed. Drawn as a Path2D of the whole bucket: the canvas's own closePath
     * costs time in proportion to the whole path so far (a tile of 16,000 rings took over a second),
     * the parsed path data's "Z" does not, and the path is the same. */
    _trace: function (f, t) {
      var rs = this.data.ringStart, lv = t.lv, start = lv.start, xs = lv.xs, ys = lv.ys, out = "";
      for (var r = rs[f]; r < rs[f + 1]; r++) {
        var first = true, lx = 0, ly = 0, e = start[r + 1];
        for (var i = start[r]; i < e; i++) {
          var px = xs[i] * t.scale + t.ax, py = t.ay - ys[i] * t.scale;
          if (first) {
            out += "M" + px + " " + py;
            first = false;
          } else if (i === e - 1 || Math.abs(px - lx) + Math.abs(py - ly) >= 0.5) {
            out += "L" + px + " " + py;
          } else continue;
          lx = px;
          ly = py;
        }
        if (!first) out += "Z";
      }
      return out;
    },

    /* A circle marker drawn once per style by the canvas, kept as premultiplied pixels: the offsets
     * and colours of its non-empty pixels, and their alpha. */
    _sprite: function (s) {
      if (s._sprite) return s._sprite;
      var r = root.devicePixelRatio || 1, radius = s.radius || 6, half = Math.ceil(radius + (s.weight || 0) / 2 + 1);
      var c = document.createElement("canvas"), ctx = c.getContext("2d", { willReadFrequently: true });
      c.width = c.height = Math.round(2 * half * r);
      ctx.scale(r, r);
      ctx.beginPath();
      ctx.arc(half, half, radius, 0, 2 * Math.PI);
      this._paint(ctx, s, "point");
      var rgba = ctx.getImageData(0, 0, c.width, c.height).data, dx = [], dy = [], col = [], inv = [];
      for (var y = 0; y < c.height; y++) {
        for (var x = 0; x < c.width; x++) {
          var k = 4 * (y * c.width + x), a = rgba[k + 3];
          if (!a) continue;
          dx.push(x);
          dy.push(y);
          inv.push(255 - a);
          col.push((a << 24) | (Math.round((rgba[k + 2] * a) / 255) << 16) |
            (Math.round((rgba[k + 1] * a) / 255) << 8) | Math.round((rgba[k] * a) / 255));
        }
      }
      s._sprite = {
        half: half, size: c.width, dx: new Int32Array(dx), dy: new Int32Array(dy), col: new Int32Array(col), inv: new Int32Array(inv),
      };
      return s._sprite;
    },

    /* Squared distance (metres) from (x, y) to feature f at level k; 0 inside a polygon. */
    _dist2: function (f, x, y, k) {
      var d = this.data, lv = this._levelVerts(k), xs = lv.xs, ys = lv.ys, best = Infinity, inside = false;
      var polygon = this.cm.kind === "polygon";
      for (var r = d.ringStart[f]; r < d.ringStart[f + 1]; r++) {
        var a = lv.start[r], e = lv.start[r + 1];
        if (e <= a) continue;
        best = Math.min(best, (xs[a] - x) * (xs[a] - x) + (ys[a] - y) * (ys[a] - y));
        for (var i = a + 1; i < e; i++) {
          best = Math.min(best, segDist2(x, y, xs[i - 1], ys[i - 1], xs[i], ys[i]));
          if (polygon) inside = crosses(inside, x, y, xs[i - 1], ys[i - 1], xs[i], ys[i]);
        }
        if (polygon) {
          best = Math.min(best, segDist2(x, y, xs[e - 1], ys[e - 1], xs[a], ys[a]));
          inside = crosses(inside, x, y, xs[e - 1], ys[e - 1], xs[a], ys[a]);
        }
      }
      return inside ? 0 : best;
    },

    /* The feature under a point of the map, or -1. */
    hit: function (latlng) {
      var all = this.hits(latlng);
      return all.length ? all[0] : -1;
    },

    /* Every feature under a point of the map as near as the nearest (within half a pixel: features
     * drawn on top of each other), the nearest first; empty if none. */
    hits: function (latlng) {
      if (!this.data || !this._map) return [];
      var z = this._tileZoom == null ? Math.round(this._map.getZoom()) : this._tileZoom;
      var mpp = WORLD / (256 * Math.pow(2, z)), tol = this._hitPx * mpp;
      var p = L.Projection.SphericalMercator.project(latlng);
      var ids = this.index.query(p.x - tol, p.y - tol, p.x + tol, p.y + tol, []);
      var k = this._levelAt(z), found = [], bestD = Infinity;
      for (var i = ids.length - 1; i >= 0; i--) {
        var f = ids[i], s = this.cm.styles[this.data.style[f]];
        var reach = ((s.weight || 0) / 2 + (this.cm.kind === "point" ? s.radius || 6 : 0) + 4) * mpp;
        var d2 = this._dist2(f, p.x, p.y, k);
        if (d2 <= reach * reach) {
          found.push([Math.sqrt(d2), f]);
          bestD = Math.min(bestD, Math.sqrt(d2));
        }
      }
      // the nearest first; ties in the order the index gave them (the last drawn, on top, first)
      return found.filter(function (h) { return h[0] <= bestD + mpp / 2; })
        .sort(function (a, b) { return a[0] - b[0]; })
        .map(function (h) { return h[1]; });
    },

    popupHtml: function (f) {
      var a = this.attrs, rows = "";
      for (var i = 0; i < a.labels.length; i++) {
        var v = column(a.columns[i], f);
        if (v !== "") rows += "<tr><th>" + a.labels[i] + "</th><td>" + v + "</td></tr>";
      }
      return '<table class="cm-popup"><caption>' + a.title + "</caption>" + rows + "</table>";
    },

    text: function (which, f) {
      var spec = this.attrs[which];
      return typeof spec === "number" ? column(this.attrs.columns[spec], f) : column(spec, f);
    },

    openPopup: function (f, latlng) {
      L.popup({ maxWidth: 420 }).setLatLng(latlng).setContent(this.popupHtml(f)).openOn(this._map);
    },

    bounds: function (f) {
      var b = this.data.bbox, P = L.Projection.SphericalMercator;
      return L.latLngBounds(P.unproject(L.point(b[4 * f], b[4 * f + 1])), P.unproject(L.point(b[4 * f + 2], b[4 * f + 3])));
    },

    /* A point on feature f (the middle vertex of its first ring), where search marks it. */
    anchor: function (f) {
      var d = this.data, r = d.ringStart[f];
      var mid = Math.floor((d.vertStart[r] + d.vertStart[r + 1] - 1) / 2);
      return L.Projection.SphericalMercator.unproject(L.point(d.xs[mid], d.ys[mid]));
    },

    focus: function (f) {
      this._map.fitBounds(this.bounds(f), { maxZoom: 14, animate: false });
      this.openPopup(f, this.anchor(f));
    },

    /* One point per feature, {xs, ys} (Int32Array, Web Mercator metres): the first vertex of its
     * first ring (a point layer's own points; its heat map draws them); null before decoding. */
    points: function () {
      var d = this.data;
      if (!d) return null;
      var nf = d.ringStart.length - 1, xs = new Int32Array(nf), ys = new Int32Array(nf);
      for (var f = 0; f < nf; f++) {
        var v = d.vertStart[d.ringStart[f]];
        xs[f] = d.xs[v];
        ys[f] = d.ys[v];
      }
      return { xs: xs, ys: ys };
    },

    latLngs: function (f, level) {
      var d = this.data, out = [], lv = this._levelVerts(Math.min(level == null ? this.cm.zooms.length : level, d.top));
      for (var r = d.ringStart[f]; r < d.ringStart[f + 1]; r++) {
        var ring = [];
        for (var i = lv.start[r]; i < lv.start[r + 1]; i++) {
          var ll = L.Projection.SphericalMercator.unproject(L.point(lv.xs[i], lv.ys[i]));
          ring.push([ll.lat, ll.lng]);
        }
        out.push(ring);
      }
      return out;
    },
  });

  CM.layer = function (opts) {
    return new CM.BigLayer(opts);
  };

  /* Resolves once every layer has decoded everything (the fine part, the popup table). */
  CM.whenReady = function () {
    return Promise.all(Object.keys(CM.layers).map(function (n) { return CM.layers[n].ready; }));
  };

  /* Resolves once the frame being drawn is on screen (two animation frames; a timer where a
   * hidden tab runs none). */
  CM.afterPaint = function () {
    return new Promise(function (resolve) {
      var timer = setTimeout(resolve, 500);
      requestAnimationFrame(function () {
        requestAnimationFrame(function () {
          clearTimeout(timer);
          setTimeout(resolve, 0);
        });
      });
    });
  };

  /* Resolves once every layer has painted its coarse part (the map's first paint). */
  CM.whenDrawn = function () {
    return Promise.all(Object.keys(CM.layers).map(function (n) { return CM.layers[n].drawn; }));
  };

  /* The decoding worker the large layers share (a Web Worker made from a Blob URL of decode.js):
   * started when this file runs, while the page's HTML (the layers' data with it) is still being
   * read, so it is up when the layers ask for their coarse parts; it ends once every layer it serves
   * has its fine part. Jobs by id; null where workers are refused. */
  var pool = null, refused = false;
  function startPool() {
    var url = null, worker;
    try {
      url = URL.createObjectURL(new Blob([CM.workerSource()], { type: "text/javascript" }));
      worker = new Worker(url);
    } catch (err) {
      if (url) URL.revokeObjectURL(url);
      refused = true;
      return null;
    }
    var p = { worker: worker, url: url, jobs: {}, next: 1, open: 0 };
    worker.onmessage = function (e) {
      var job = p.jobs[e.data.id];
      if (!job) return;
      delete p.jobs[e.data.id];
      if (e.data.error) job.reject(new Error(e.data.error));
      else job.resolve(e.data.data);
    };
    worker.onerror = function (e) { // a worker that cannot start (a strict page policy): decode on the page
      e.preventDefault();
      refused = true;
      stopPool(p);
      Object.keys(p.jobs).forEach(function (id) {
        var job = p.jobs[id];
        delete p.jobs[id];
        job.resolve(job.onPage());
      });
    };
    return p;
  }
  function stopPool(p) {
    p.worker.terminate();
    URL.revokeObjectURL(p.url);
    if (pool === p) pool = null;
  }
  function idle(p) { // ends the worker once no layer needs it
    if (pool === p && p.open === 0 && !Object.keys(p.jobs).length) stopPool(p);
  }
  if (typeof document !== "undefined" && document.readyState === "loading") {
    pool = startPool();
    document.addEventListener("DOMContentLoaded", function () {
      // every map script has run by now: an early job no layer took (a file cut short before its
      // map script) is let go, so the worker ends once it has answered; its text goes back to its
      // block, for a layer made later
      Object.keys(early).forEach(function (id) {
        var rec = early[id], el = document.getElementById(id);
        delete early[id];
        if (el) el.textContent = rec.text;
        rec.pool.open--;
        rec.promise.then(function () { idle(rec.pool); }, function () { idle(rec.pool); });
      });
      if (pool) idle(pool); // (a page without large layers)
    });
  }

  /* A job on worker p: resolves to its reply's data; onPage() decodes on the page instead if the
   * worker fails to start (a strict page policy). */
  function post(p, message, onPage) {
    return new Promise(function (resolve, reject) {
      var id = p.next++;
      p.jobs[id] = { resolve: resolve, reject: reject, onPage: onPage };
      message.id = id;
      p.worker.postMessage(message);
    });
  }

  /* A layer's coarse part sent to the worker as soon as the parser has read it (an inline script
   * right after the block calls this), so the worker decodes it while the page's thread still
   * reads the rest of the HTML (the fine parts: most of a large map's bytes), not only once the
   * map script runs at the end. `msg`: the block's id, counts, steps, deflate, split and levels
   * (written by big.py). Nothing is done where workers are refused: the layer decodes on the page
   * when it is made, as it would anyway. */
  var early = {};
  CM.early = function (msg) {
    var el = document.getElementById(msg.id), p = pool || (refused ? null : (pool = startPool()));
    if (!el || !p || early[msg.id]) return;
    var text = el.textContent, rec = { key: "early:" + msg.id, text: text, layer: null };
    el.textContent = ""; // the page keeps the one copy (rec.text, for a worker that fails)
    p.open++;
    var job = { msg: {}, key: rec.key };
    for (var k in msg) job.msg[k] = msg[k];
    job.msg.coarse = text;
    rec.promise = post(p, job, function () {
      if (rec.layer) rec.layer.decodedIn = "page";
      var m = {};
      for (var q in msg) m[q] = msg[q];
      m.coarse = text;
      return CM.decodeCoarse(m);
    });
    rec.pool = p;
    early[msg.id] = rec;
  };

  /* A layer's decoder, on the shared worker: decoder.coarse() decodes the coarse part (sent ahead
   * by CM.early where the page did), decoder.full(text) the fine part (layer.decodedIn =
   * "worker"), decoder.close() once the layer needs it no more; where workers are refused the page
   * decodes both ("page"). `msg`: the coarse part's id and text, counts, steps, deflate, split and
   * levels. Both resolve to data. */
  var decoders = 0;
  CM.decoder = function (msg, layer) {
    var pre = msg.id ? early[msg.id] : null, p, key, closed = false;
    if (pre) {
      delete early[msg.id];
      p = pre.pool;
      key = pre.key;
      pre.layer = layer;
      layer.sentEarly = true;
      msg.coarse = pre.text; // (the block itself was emptied)
    } else {
      p = pool || (refused ? null : (pool = startPool()));
      key = ++decoders;
      if (p) p.open++;
    }
    function onPage(kind, fine) {
      layer.decodedIn = "page";
      if (kind === "coarse") return CM.decodeCoarse(msg);
      var all = {};
      for (var k in msg) all[k] = msg[k];
      all.fine = fine;
      return CM.decodeAll(all);
    }
    function ask(kind, message, fine) {
      if (!p || refused) return onPage(kind, fine);
      message.key = key;
      return post(p, message, function () { return onPage(kind, fine); });
    }
    return {
      coarse: function () { return pre ? pre.promise : ask("coarse", { msg: msg }); },
      full: function (fine) {
        return ask("full", { fine: fine }, fine).then(function (d) {
          if (!layer.decodedIn) layer.decodedIn = "worker";
          return d;
        });
      },
      close: function () {
        if (closed || !p) return;
        closed = true;
        p.open--;
        idle(p);
      },
    };
  };

  /* Large layers on `map`, topmost pane first. */
  CM.onMap = function (map) {
    var out = [];
    Object.keys(CM.layers).forEach(function (n) {
      var l = CM.layers[n];
      if (l._map === map && l.data && l.attrs) out.push(l);
    });
    function z(l) { return parseInt(map.getPane(l.options.pane).style.zIndex, 10) || 400; }
    return out.sort(function (a, b) { return z(b) - z(a); });
  };

  /* The topmost large layer with a feature at latlng: {layer, feature, features (every one drawn
   * there, on top of each other: more than one opens a chooser)}, or null. */
  CM.hitAll = function (map, latlng) {
    var layers = CM.onMap(map);
    for (var i = 0; i < layers.length; i++) {
      var all = layers[i].hits(latlng);
      if (all.length) return { layer: layers[i], feature: all[0], features: all };
    }
    return null;
  };

  /* The popup of a hit: the feature's own, or a chooser listing the features drawn there. */
  CM.openHit = function (map, h, latlng) {
    if (h.features.length < 2) return h.layer.openPopup(h.feature, latlng);
    var box = L.DomUtil.create("div", "cm-chooser cm-big-chooser");
    L.DomUtil.create("div", "cm-chooser-head", box).textContent = h.features.length + " features here: choose one";
    var list = L.DomUtil.create("ul", "", box);
    h.features.forEach(function (f) {
      var a = L.DomUtil.create("a", "", L.DomUtil.create("li", "", list));
      a.href = "#";
      a.textContent = CM.unescape(h.layer.text("names", f) || h.layer.text("tooltip", f) || "feature " + (f + 1));
      L.DomEvent.on(a, "click", function (e) {
        L.DomEvent.preventDefault(e);
        L.DomEvent.stopPropagation(e);
        h.layer.openPopup(f, latlng);
      });
    });
    L.popup({ maxWidth: 420 }).setLatLng(latlng).setContent(box).openOn(map);
  };

  /* Open the popup of the topmost large-layer feature at latlng (a chooser where several are drawn
   * on top of each other); true if one opened. */
  CM.openAt = function (map, latlng) {
    var h = CM.hitAll(map, L.latLng(latlng));
    if (h) CM.openHit(map, h, L.latLng(latlng));
    return !!h;
  };

  CM.hideTooltip = function (map) {
    var state = map._cmBig;
    if (state && state.tip && map.hasLayer(state.tip)) map.closeTooltip(state.tip);
    if (state) map.getContainer().style.cursor = "";
  };

  /* One click and one hover handler per map, shared by its large layers. */
  CM.attach = function (map) {
    if (map._cmBig) return map._cmBig;
    var state = (map._cmBig = { tip: L.tooltip({ direction: "top", offset: [0, -6], className: "cm-big-tooltip" }), pending: null });
    map.on("click", function (e) {
      var h = CM.hitAll(map, e.latlng);
      if (h) CM.openHit(map, h, e.latlng);
    });
    map.on("mousemove", function (e) {
      if (state.pending) { state.pending = e; return; }
      state.pending = e;
      L.Util.requestAnimFrame(function () {
        var ev = state.pending, h = CM.hitAll(map, ev.latlng), text = h && h.layer.text("tooltip", h.feature);
        state.pending = null;
        if (!text) return CM.hideTooltip(map);
        map.getContainer().style.cursor = "pointer";
        state.tip.setLatLng(ev.latlng).setContent(text);
        if (!map.hasLayer(state.tip)) map.openTooltip(state.tip);
      });
    });
    map.on("mouseout", function () { CM.hideTooltip(map); });
    return state;
  };

  function escapeText(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
  }

  /* The text of HTML escaped by escapeText (or Python's html.escape), as the map's names are. */
  CM.unescape = function (text) {
    return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
      .replace(/&#x27;/g, "'").replace(/&amp;/g, "&");
  };

  /* Features whose name contains `text` (case-insensitive), at most `limit` (default 10):
   * [{layer, feature, name (escaped HTML), label (plain text)}]. Searches the large layers on `map`,
   * or the given `layers` (decoded ones, on the map or not). */
  CM.search = function (map, text, limit, layers) {
    var needle = escapeText(text).toLowerCase(), out = [], max = limit || 10;
    (layers || CM.onMap(map)).forEach(function (layer) {
      var n = layer.data && layer.attrs ? layer.cm.counts.features : 0;
      for (var f = 0; f < n && out.length < max; f++) {
        var name = layer.text("names", f);
        if (name && name.toLowerCase().indexOf(needle) >= 0) {
          out.push({ layer: layer, feature: f, name: name, label: CM.unescape(name) });
        }
      }
    });
    return out;
  };
})(window);
