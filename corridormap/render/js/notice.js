/* corridormap notice.js: a notice to the reader, at the top of the page, when the map cannot be shown.
 *
 * corridormapNotice(className, text) adds one: pack.js's for a file cut short or damaged, and
 * cdn_check.js's for a CDN-linked map whose library could not be loaded. The text is set as text
 * (never as HTML) and is corridormap's own fixed wording. Styled inline, not from the page's CSS:
 * that CSS may be what is missing. Notices stack in one box; the first definition of the function
 * in a page is kept (this file is in both the unpacker and the CDN check).
 */
(function (root) {
  "use strict";
  if (root.corridormapNotice) return;

  root.corridormapNotice = function (className, text) {
    var box = document.querySelector(".cm-notices");
    if (!box) {
      box = document.createElement("div");
      box.className = "cm-notices";
      box.style.cssText = "position:fixed;top:12px;left:50%;transform:translateX(-50%);z-index:100000;" +
        "width:max-content;max-width:min(640px,92vw);display:flex;flex-direction:column;gap:8px;";
      (document.body || document.documentElement).appendChild(box);
    }
    var note = document.createElement("div");
    note.className = className;
    note.setAttribute("role", "alert");
    note.style.cssText = "padding:12px 16px;background:#fff4e5;color:#5f2b00;border:2px solid #b45309;" +
      "border-radius:6px;font:15px/1.45 system-ui,sans-serif;text-align:left;";
    note.textContent = text;
    box.appendChild(note);
    return note;
  };
})(window);
