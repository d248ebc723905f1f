/* corridormap pack.js: unpack the page's packed blocks (written by corridormap/render/pack.py).
 *
 * A packed block is a script element of type text/x-corridormap-packed whose text is raw-deflated
 * bytes as 7-bit text (one character a 7-bit value, most significant bits first; see
 * corridormap/render/big_geometry.py text7), followed by a script calling corridormapPack.unpack().
 * unpack() inflates the block synchronously (tiny-inflate, bundled before this file as
 * corridormapPack.inflateRaw) and puts the original element in its place: a <script> (which runs
 * at once, in page order), a <style>, or a JSON data <script> with its id. Nothing here reads text
 * from data: the packed blocks hold the page's own scripts, styles and basemap only.
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

  /* The original text of a packed block. */
  P.text = function (packed) {
    var size = parseInt(packed.getAttribute("data-bytes"), 10);
    var bytes = P.inflateRaw(P.text7Bytes(packed.textContent), new Uint8Array(size));
    if (bytes.length !== size) {
      throw new Error("corridormap: packed block " + packed.getAttribute("data-label") + " is damaged");
    }
    return new TextDecoder("utf-8").decode(bytes);
  };

  /* Replace the packed block before the calling <script> by the element it holds. */
  P.unpack = function () {
    var runner = document.currentScript, packed = runner.previousElementSibling;
    var kind = packed.getAttribute("data-kind");
    var el = document.createElement(kind === "css" ? "style" : "script");
    if (kind === "json") {
      el.type = "application/json";
      el.id = packed.getAttribute("data-id");
    }
    el.textContent = P.text(packed);
    packed.parentNode.replaceChild(el, packed); // a script runs here, before the page goes on
    runner.parentNode.removeChild(runner);
  };
})(window);
