/* corridormap cdn_check.js: a CDN-linked map (corridormap build --cdn) that cannot reach its CDNs
 * says so, instead of showing a blank white page.
 *
 * Such a page loads Leaflet and its plugins from the internet. Opened on a laptop with no network,
 * or on a network that blocks the CDNs, those scripts fail and nothing draws. This script is the
 * first in the page's head (corridormap/render/assets.py puts it before the first CDN script or
 * stylesheet; notice.js comes just before it). It notes every script or stylesheet from the network
 * that fails to load (their error events do not bubble, but reach a listener on the window in the
 * capture phase) and, once the page is parsed, shows the notice if one failed or Leaflet is missing
 * (a CDN address answered with something else, such as a network's "blocked" page); a load that
 * fails later shows it then. The notice's text is fixed: nothing from the page or its data is shown.
 */
(function (root) {
  "use strict";
  var TEXT = "This map cannot be shown: it loads its map library (Leaflet) from the internet, and " +
    "the internet could not be reached from this computer or network. Open the file on a computer " +
    "with internet access, or ask the sender for the offline build of the map (made with the default " +
    "\u201ccorridormap build\u201d, without --cdn), which opens with no network.";
  var failed = 0, parsed = false, shown = false;

  function show() {
    if (shown) return;
    shown = true;
    root.corridormapNotice("cm-cdn-unreachable", TEXT);
  }

  root.addEventListener("error", function (event) {
    var el = event.target, url = "";
    if (el && el.tagName === "SCRIPT") url = el.src;
    else if (el && el.tagName === "LINK" && /\bstylesheet\b/i.test(el.rel)) url = el.href;
    if (!/^https?:/i.test(url)) return; // a page's own script error, or a local file
    failed++;
    if (parsed) show();
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    parsed = true;
    if (failed || typeof root.L === "undefined") show();
  });
})(window);
