/* corridormap large layers (1/3): decode the geometry payload written by corridormap/render/big.py.
 *
 * The payload is 7-bit text (CM.text7Bytes) of (optionally zlib-deflated) bytes. Every number is an unsigned
 * LEB128 varint; signed numbers are zigzag-coded. In order: rings per feature, vertices per ring,
 * a style code per feature, then x and y per vertex (a ring's first vertex minus the previous
 * ring's first vertex, its second vertex minus the first, after that the change of step), then one
 * level tag byte per vertex (the coarsest simplification level that keeps the vertex).
 * Coordinates are whole Web Mercator (EPSG:3857) metres.
 */
(function (root) {
  "use strict";
  var CM = (root.corridormapBig = root.corridormapBig || {});

  /* Bytes from the 7-bit text corridormap/render/big_geometry.py writes (text7): each character's
   * code masked with 127 is 7 bits, most significant first; floor(7 * characters / 8) whole bytes. */
  CM.text7Bytes = function (text) {
    var n = text.length, out = new Uint8Array(Math.floor((7 * n) / 8));
    var acc = 0, bits = 0, o = 0;
    for (var i = 0; i < n; i++) {
      acc = (acc << 7) | (text.charCodeAt(i) & 127); // the pending bits: at most 14
      bits += 7;
      if (bits >= 8) {
        bits -= 8;
        out[o++] = acc >>> bits;
        acc &= (1 << bits) - 1;
      }
    }
    return out;
  };

  /* zlib-inflate in the browser's own decompressor; resolves to a Uint8Array. */
  CM.inflate = function (bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new root.DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (buf) {
      return new Uint8Array(buf);
    });
  };

  /* Decode into typed arrays: ringStart (per feature), vertStart (per ring), style (per feature),
   * xs, ys, tags (per vertex) and bbox (minx, miny, maxx, maxy per feature). */
  CM.decodeGeometry = function (b, counts) {
    var p = 0;
    function next() {
      var c = b[p++];
      var v = c & 127;
      if (c < 128) return v;
      c = b[p++];
      v |= (c & 127) << 7;
      if (c < 128) return v;
      c = b[p++];
      v |= (c & 127) << 14;
      if (c < 128) return v;
      c = b[p++];
      v |= (c & 127) << 21;
      if (c < 128) return v;
      c = b[p++];
      return v + (c & 127) * 268435456;
    }
    function signed(v) {
      return v % 2 ? -(v + 1) / 2 : v / 2;
    }
    var nf = counts.features, nr = counts.rings, nv = counts.vertices;
    var ringStart = new Int32Array(nf + 1), vertStart = new Int32Array(nr + 1);
    var i, r, v;
    for (i = 0; i < nf; i++) ringStart[i + 1] = ringStart[i] + next();
    for (r = 0; r < nr; r++) vertStart[r + 1] = vertStart[r] + next();
    var style = new Uint8Array(nf);
    for (i = 0; i < nf; i++) style[i] = next();
    var xs = new Int32Array(nv), ys = new Int32Array(nv);
    var sx = 0, sy = 0, c, u;
    for (r = 0; r < nr; r++) {
      var a = vertStart[r], e = vertStart[r + 1];
      if (a === e) continue;
      var x = sx + signed(next()), y = sy + signed(next());
      sx = x;
      sy = y;
      xs[a] = x;
      ys[a] = y;
      var dx = 0, dy = 0;
      for (v = a + 1; v < e; v++) {
        // the hot loop: one-byte varints inline, longer ones through next(); zigzag by bit ops
        c = b[p++];
        u = c < 128 ? c : (p--, next());
        var ddx = (u >>> 1) ^ -(u & 1);
        c = b[p++];
        u = c < 128 ? c : (p--, next());
        var ddy = (u >>> 1) ^ -(u & 1);
        if (v === a + 1) {
          dx = ddx;
          dy = ddy;
        } else {
          dx += ddx;
          dy += ddy;
        }
        x += dx;
        y += dy;
        xs[v] = x;
        ys[v] = y;
      }
    }
    if (p + nv !== b.length) throw new Error("corridormap: corrupt layer payload (" + (p + nv) + " != " + b.length + ")");
    var tags = b.slice(p, p + nv);
    var bbox = new Int32Array(4 * nf);
    for (i = 0; i < nf; i++) {
      var x0 = 2147483647, y0 = 2147483647, x1 = -2147483647, y1 = -2147483647;
      for (v = vertStart[ringStart[i]]; v < vertStart[ringStart[i + 1]]; v++) {
        if (xs[v] < x0) x0 = xs[v];
        if (xs[v] > x1) x1 = xs[v];
        if (ys[v] < y0) y0 = ys[v];
        if (ys[v] > y1) y1 = ys[v];
      }
      bbox[4 * i] = x0;
      bbox[4 * i + 1] = y0;
      bbox[4 * i + 2] = x1;
      bbox[4 * i + 3] = y1;
    }
    return { ringStart: ringStart, vertStart: vertStart, style: style, xs: xs, ys: ys, tags: tags, bbox: bbox };
  };
})(window);
