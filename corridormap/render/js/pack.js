/* corridormap pack.js: unpack the page's packed blocks (written by corridormap/render/pack.py).
 *
 * A packed block is a script element of type text/x-corridormap-packed whose text is raw-deflated
 * bytes as 7-bit text (one character a 7-bit value, most significant bits first; see
 * corridormap/render/big_geometry.py text7), with the plain text's length in bytes (data-bytes) and
 * CRC-32 (data-crc32, 8 hex digits), followed by a script calling corridormapPack.unpack().
 * unpack() inflates the block synchronously (tiny-inflate, bundled before this file as
 * corridormapPack.inflateRaw, with notice.js), checks its length and CRC-32, and puts the original element in its
 * place: a <script> (which runs at once, in page order), a <style>, or a JSON data <script> with its
 * id. A block that fails (cut short, or changed inside: a flipped bit can inflate to other text of
 * the same length) is never used. Nothing here reads text from data: the packed blocks hold the
 * page's own scripts, styles and basemap only. The page's last script calls corridormapPack.end(); a
 * page that never gets there (a file cut short) or whose block does not unpack (damaged) shows a
 * notice saying so, instead of a blank page.
 */
(function (root) {
  "use strict";
  var P = (root.corridormapPack = root.corridormapPack || {});

  /* Bytes of a 7-bit text: each character's code masked with 127, 7 bits each. The same reader as
   * decode.js's CM.text7Bytes, kept apart on purpose: this one runs before any other script (the
   * others are packed), and decode.js also runs alone in its Web Worker and in unpacked pages. */
  P.text7Bytes = function (text) {
    var n = text.length, out = new Uint8Array(Math.floor((7 * n) / 8));
    var acc = 0, bits = 0, o = 0;
    for (var i = 0; i < n; i++) {
      acc = (acc << 7) | (text.charCodeAt(i) & 127);
      bits += 7;
      if (bits >= 8) {
        bits -= 8;
        out[o++] = acc >>> bits;
        acc &= (1 << bits) - 1;
      }
    }
    return out;
  };

  /* CRC-32 (zlib's, as Python's zlib.crc32) of bytes, four bytes a step ("slicing by 4": four
   * 256-entry tables, built on first use). Chosen over the cheaper Adler-32 for its stronger check
   * (every burst of up to 32 bits; Adler-32 is weak on short texts); four bytes a step brings its
   * cost to Adler-32's (the figures are in pack.py, beside _crc32). */
  var crcTables = null;
  P.crc32 = function (bytes) {
    if (!crcTables) {
      crcTables = [new Int32Array(256), new Int32Array(256), new Int32Array(256), new Int32Array(256)];
      for (var n = 0; n < 256; n++) {
        var c = n;
        for (var k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        crcTables[0][n] = c;
      }
      for (n = 0; n < 256; n++) {
        c = crcTables[0][n];
        for (var t = 1; t < 4; t++) {
          c = crcTables[0][c & 255] ^ (c >>> 8);
          crcTables[t][n] = c;
        }
      }
    }
    var t0 = crcTables[0], t1 = crcTables[1], t2 = crcTables[2], t3 = crcTables[3];
    var crc = -1, i = 0, len = bytes.length, end4 = len - (len & 3);
    for (; i < end4; i += 4) {
      crc ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
      crc = t3[crc & 255] ^ t2[(crc >>> 8) & 255] ^ t1[(crc >>> 16) & 255] ^ t0[crc >>> 24];
    }
    for (; i < len; i++) crc = t0[(crc ^ bytes[i]) & 255] ^ (crc >>> 8);
    return (crc ^ -1) >>> 0;
  };

  /* The original text of a packed block; throws if it is not the text that was packed. */
  P.text = function (packed) {
    var size = parseInt(packed.getAttribute("data-bytes"), 10);
    var bytes = P.inflateRaw(P.text7Bytes(packed.textContent), new Uint8Array(size));
    if (bytes.length !== size) {
      throw new Error("it holds " + bytes.length + " bytes, not the " + size + " it declares");
    }
    var declared = packed.getAttribute("data-crc32") || "", crc = P.crc32(bytes);
    if (!/^[0-9a-f]{8}$/.test(declared) || crc !== parseInt(declared, 16)) {
      throw new Error("its CRC-32 does not match the one it declares: it was changed");
    }
    return new TextDecoder("utf-8", {fatal: true}).decode(bytes);
  };

  var damaged = [], ended = false;

  /* Replace the packed block before the calling <script> by the element it holds. A block that does
   * not unpack is left packed (inert) and named in the notice; no error is thrown from here. */
  P.unpack = function () {
    var runner = document.currentScript, packed = runner.previousElementSibling;
    var kind = packed.getAttribute("data-kind"), text;
    try {
      text = P.text(packed);
    } catch (err) {
      damaged.push(packed.getAttribute("data-label"));
      runner.parentNode.removeChild(runner);
      if (root.console) {
        console.error("corridormap: the map file is damaged: " + packed.getAttribute("data-label") +
          " does not unpack (" + (err && err.message) + ")");
      }
      return;
    }
    var el = document.createElement(kind === "css" ? "style" : "script");
    if (kind === "json") {
      el.type = "application/json";
      el.id = packed.getAttribute("data-id");
    }
    el.textContent = text;
    packed.parentNode.replaceChild(el, packed); // a script runs here, before the page goes on
    runner.parentNode.removeChild(runner);
  };

  /* Called by the page's last script: the file was read to its end. */
  P.end = function () {
    ended = true;
  };

  /* A file cut short (an attachment or a download that stopped) or damaged would show a blank
   * page: say what happened and what to do (notice.js, bundled before this file). */
  document.addEventListener("DOMContentLoaded", function () {
    if (ended && !damaged.length) return;
    root.corridormapNotice("cm-damaged", !ended
      ? "This map file is incomplete: it stops before its end, so the map cannot be shown (or not all " +
        "of it). It was probably cut short while it was sent, downloaded or saved. Ask the sender for " +
        "the file again, or save the attachment again and open the saved copy."
      : "This map file is damaged: part of it (" + damaged.join(", ") + ") cannot be read, so the map " +
        "may not work. Ask the sender for the file again.");
  });
})(window);
