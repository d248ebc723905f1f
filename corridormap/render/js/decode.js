/* corridormap large layers (1/3): decode the geometry payload written by corridormap/render/big_geometry.py.
 *
 * A layer's geometry comes in two parts, each 7-bit text (CM.text7Bytes) of zlib-deflated bytes: the
 * coarse part (the vertices of the coarsest levels, with the rings, vertices per ring and style
 * codes), decoded at once so the map paints, and the fine part (every other vertex), decoded once
 * it has painted. Both are decoded in a Web Worker made from this very file (CM.workerSource, a
 * Blob URL: it works from file:// and offline), one for all the page's large layers: the page's
 * own thread only draws.
 *
 * Each part: a varint count of sections and their byte lengths, then the sections: counts (varints),
 * head symbols, heads (zigzag varints), escapes (varints), then per step context (the larger of the
 * last step's |dx| and |dy| against the edges `steps`) the symbols, then per context the across
 * components (zigzag varints). Walking the rings' vertices in order: a ring's first vertex is its
 * offset from the previous ring's first vertex, the second one step; each later vertex is the miss
 * of "the last step again", given in the frame of that step (along, across) and turned back by
 * CM.fromFrame. A symbol byte is 16 * level tag + the zigzagged along component (15: add the next
 * escape). In the fine part, symbol 0 marks a coarse vertex (taken from the coarse part).
 * Coordinates are whole Web Mercator (EPSG:3857) metres.
 */
(function factory(root) {
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

  function unzigzag(v) {
    return v % 2 ? -(v + 1) / 2 : v / 2;
  }

  /* The residual (along, across) in the frame of the step (ex, ey), turned back to (dx, dy): the
   * inverse of big_geometry.along_across (quarter turns, then three lifting shears undone in reverse
   * order with the same IEEE double operations and floor(v + 0.5) rounding). */
  CM.fromFrame = function (a, b, ex, ey, out) {
    var q, ux, uy;
    if ((ex < 0 ? -ex : ex) >= (ey < 0 ? -ey : ey)) q = ex >= 0 ? 0 : 2;
    else q = ey > 0 ? 1 : 3;
    if (q === 0) { ux = ex; uy = ey; } else if (q === 1) { ux = ey; uy = -ex; }
    else if (q === 2) { ux = -ex; uy = -ey; } else { ux = -ey; uy = ex; }
    var u = a, w = b;
    if (uy !== 0) {
      var length = Math.sqrt(ux * ux + uy * uy), p = (length - ux) / uy, s = -uy / length;
      var u1 = u - Math.floor(p * w + 0.5);
      w = w - Math.floor(s * u1 + 0.5);
      u = u1 - Math.floor(p * w + 0.5);
    }
    if (q === 0) { out[0] = u; out[1] = w; } else if (q === 1) { out[0] = -w; out[1] = u; }
    else if (q === 2) { out[0] = -u; out[1] = -w; } else { out[0] = w; out[1] = -u; }
  };

  /* Section cursors of a part: cur[k] is where section k is read next, end[k] where it ends. */
  function sections(b) {
    var p = 0;
    function uv() {
      var c = b[p++], v = c & 127, m = 128;
      while (c >= 128) { c = b[p++]; v += (c & 127) * m; m *= 128; }
      return v;
    }
    var k = uv(), lens = [];
    for (var i = 0; i < k; i++) lens.push(uv());
    var cur = new Int32Array(k), end = new Int32Array(k);
    for (i = 0; i < k; i++) { cur[i] = p; p += lens[i]; end[i] = p; }
    if (p !== b.length) throw new Error("corridormap: corrupt layer payload (" + p + " != " + b.length + ")");
    return { cur: cur, end: end };
  }

  /* Decode one part into typed arrays: ringStart (per feature), vertStart (per ring), style (per
   * feature), xs, ys, tags (per vertex). `coarse` is the decoded coarse part when decoding the
   * fine one (null for the coarse part itself). */
  CM.decodePart = function (b, counts, steps, coarse) {
    var S = sections(b), cur = S.cur, nb = steps.length + 1;
    function uv(k) {
      var p = cur[k], c = b[p++], v = c & 127, m = 128;
      while (c >= 128) { c = b[p++]; v += (c & 127) * m; m *= 128; }
      cur[k] = p;
      return v;
    }
    var nf = counts.features, nr = counts.rings, i, r, v;
    var ringStart = coarse ? coarse.ringStart : new Int32Array(nf + 1), vertStart = new Int32Array(nr + 1);
    var style = coarse ? coarse.style : new Uint8Array(nf);
    if (!coarse) for (i = 0; i < nf; i++) ringStart[i + 1] = ringStart[i] + uv(0);
    for (r = 0; r < nr; r++) vertStart[r + 1] = vertStart[r] + uv(0);
    if (!coarse) for (i = 0; i < nf; i++) style[i] = uv(0);
    var nv = vertStart[nr], xs = new Int32Array(nv), ys = new Int32Array(nv), tags = new Uint8Array(nv);
    var cx = coarse && coarse.xs, cy = coarse && coarse.ys, ct = coarse && coarse.tags, ci = 0;
    var s0 = steps[0], s1 = steps[1], s2 = steps[2], fx = 0, fy = 0, rxy = [0, 0];
    for (r = 0; r < nr; r++) {
      var a = vertStart[r], e = vertStart[r + 1];
      for (v = a; v < e; v++) {
        var pos = v - a, s, k = 0, dx = 0, dy = 0;
        if (pos < 2) s = b[cur[1]++];
        else {
          dx = xs[v - 1] - xs[v - 2];
          dy = ys[v - 1] - ys[v - 2];
          var l = Math.max(dx < 0 ? -dx : dx, dy < 0 ? -dy : dy);
          if (nb === 4) k = l < s0 ? 0 : l < s1 ? 1 : l < s2 ? 2 : 3; // (the default edges, inline)
          else while (k < nb - 1 && l >= steps[k]) k++;
          s = b[cur[4 + k]++];
        }
        if (coarse && s === 0) {
          xs[v] = cx[ci];
          ys[v] = cy[ci];
          tags[v] = ct[ci++];
        } else {
          tags[v] = s >> 4;
          if (pos === 0) {
            xs[v] = fx + unzigzag(uv(2));
            ys[v] = fy + unzigzag(uv(2));
          } else if (pos === 1) {
            xs[v] = xs[v - 1] + unzigzag(uv(2));
            ys[v] = ys[v - 1] + unzigzag(uv(2));
          } else {
            var za = s & 15, c = b[cur[4 + nb + k]];
            if (za === 15) za += uv(3);
            var zb = c < 128 ? (cur[4 + nb + k]++, c) : uv(4 + nb + k); // one-byte varints inline
            CM.fromFrame(unzigzag(za), unzigzag(zb), dx, dy, rxy);
            xs[v] = xs[v - 1] + dx + rxy[0];
            ys[v] = ys[v - 1] + dy + rxy[1];
          }
        }
        if (pos === 0) {
          fx = xs[v];
          fy = ys[v];
        }
      }
    }
    for (i = 0; i < cur.length; i++) {
      if (cur[i] !== S.end[i]) throw new Error("corridormap: corrupt layer payload (section " + i + ")");
    }
    if (coarse && ci !== cx.length) throw new Error("corridormap: corrupt layer payload (coarse vertices)");
    return { ringStart: ringStart, vertStart: vertStart, style: style, xs: xs, ys: ys, tags: tags };
  };

  /* Feature boxes (minx, miny, maxx, maxy per feature) of decoded data, added as d.bbox. */
  CM.boxes = function (d) {
    var nf = d.ringStart.length - 1, bbox = new Int32Array(4 * nf), xs = d.xs, ys = d.ys;
    for (var i = 0; i < nf; i++) {
      var x0 = 2147483647, y0 = 2147483647, x1 = -2147483647, y1 = -2147483647;
      for (var v = d.vertStart[d.ringStart[i]]; v < d.vertStart[d.ringStart[i + 1]]; v++) {
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
    d.bbox = bbox;
    return d;
  };

  /* The vertices of simplification level k, per ring, with their coordinates packed: {start, xs, ys}
   * (ring r's level-k vertices are xs[start[r]:start[r + 1]], ys the same), so a zoom that draws a
   * coarse level walks contiguous memory, not every n-th vertex of the whole layer (a cache miss
   * each). A level that keeps every vertex shares the data's own arrays. */
  CM.level = function (d, k) {
    var vs = d.vertStart, nr = vs.length - 1, tags = d.tags, nv = tags.length, n = 0, r, v;
    for (v = 0; v < nv; v++) if (tags[v] <= k) n++;
    if (n === nv) return { start: vs, xs: d.xs, ys: d.ys };
    var start = new Int32Array(nr + 1), xs = new Int32Array(n), ys = new Int32Array(n), dx = d.xs, dy = d.ys;
    n = 0;
    for (r = 0; r < nr; r++) {
      for (v = vs[r]; v < vs[r + 1]; v++) {
        if (tags[v] <= k) {
          xs[n] = dx[v];
          ys[n] = dy[v];
          n++;
        }
      }
      start[r + 1] = n;
    }
    return { start: start, xs: xs, ys: ys };
  };

  /* Every simplification level below `top` (CM.level), as d.levels, built with the data so a zoom
   * into a new level does not wait for them. */
  CM.levelIndex = function (d, top) {
    var levels = [];
    for (var k = 0; k < top; k++) levels.push(CM.level(d, k));
    d.levels = levels;
    return d;
  };

  /* Text of a part -> its bytes, inflated when the layer is deflated. */
  CM.partBytes = function (text, deflate) {
    var bytes = CM.text7Bytes(text);
    return deflate ? CM.inflate(bytes) : Promise.resolve(bytes);
  };

  /* The coarse part's text -> its data (with boxes and its levels below `split`): what the first
   * paint draws. */
  CM.decodeCoarse = function (msg) {
    return CM.partBytes(msg.coarse, msg.deflate).then(function (bytes) {
      return CM.levelIndex(CM.boxes(CM.decodePart(bytes, msg.counts, msg.steps, null)), msg.split);
    });
  };

  /* The fine part's text and the decoded coarse part -> the full data (with boxes and levels). */
  CM.decodeFine = function (text, coarse, msg) {
    return CM.partBytes(text, msg.deflate).then(function (bytes) {
      return CM.levelIndex(CM.boxes(CM.decodePart(bytes, msg.counts, msg.steps, coarse)), msg.levels);
    });
  };

  /* Both parts' texts -> the full data: what a page that refuses workers does. */
  CM.decodeAll = function (msg) {
    return Promise.all([CM.partBytes(msg.coarse, msg.deflate), CM.partBytes(msg.fine, msg.deflate)]).then(
      function (parts) {
        var coarse = CM.decodePart(parts[0], msg.counts, msg.steps, null);
        return CM.levelIndex(CM.boxes(CM.decodePart(parts[1], msg.counts, msg.steps, coarse)), msg.levels);
      }
    );
  };

  var source = "(" + factory.toString() + ")(self);";
  /* This file as a worker script: a Blob URL, so it runs from file:// and offline. */
  CM.workerSource = function () {
    return CM.gridIndexSource ? source + "\n" + CM.gridIndexSource : source;
  };

  /* The data's grid index (js/grid_index.js) built here in the worker, as parts (d.index) to send
   * with it: the index's arrays, transferable. */
  function withIndex(d) {
    if (CM.GridIndex) d.index = new CM.GridIndex(d.bbox, d.ringStart.length - 1).parts();
    return d;
  }

  if (typeof root.document === "undefined" && typeof root.postMessage === "function") {
    // in the worker: the page sends each layer's coarse part at once (the reply is a copy: the
    // worker keeps its own for the fine part), then, once the map has painted, its fine part (the
    // reply's arrays are transferred, not copied); each reply with its grid index (transferred);
    // replies by job id, layers by key
    var coarse = {};
    root.onmessage = function (event) {
      var m = event.data, job;
      if (m.fine == null) {
        job = CM.decodeCoarse(m.msg).then(function (d) {
          m.msg.coarse = null;
          coarse[m.key] = { msg: m.msg, data: d };
          withIndex(d);
          var index = d.index;
          root.postMessage({ id: m.id, data: d }, index ? [index.start.buffer, index.items.buffer] : []);
          delete d.index; // (sent: the worker's copy needs no index)
        });
      } else {
        var c = coarse[m.key];
        delete coarse[m.key];
        job = !c ? Promise.reject(new Error("corridormap: a fine part before its coarse part")) :
          CM.decodeFine(m.fine, c.data, c.msg).then(function (d) {
            withIndex(d);
            var arrays = [d.ringStart, d.vertStart, d.style, d.xs, d.ys, d.tags, d.bbox], buffers = [];
            if (d.index) arrays.push(d.index.start, d.index.items);
            d.levels.forEach(function (l) { arrays.push(l.start, l.xs, l.ys); });
            arrays.forEach(function (a) { if (buffers.indexOf(a.buffer) < 0) buffers.push(a.buffer); }); // (levels share some)
            root.postMessage({ id: m.id, data: d }, buffers);
          });
      }
      job.catch(function (err) {
        root.postMessage({ id: m.id, error: String((err && err.message) || err) });
      });
    };
  }
})(typeof window !== "undefined" ? window : self);
