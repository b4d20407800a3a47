// Live updates for the alert list: the server says (server-sent events)
// how many alerts matching the list's filters arrived since the page was
// rendered, and a banner offers them; the page itself is never rewritten,
// so the reader's scroll position stays where it is.
(function () {
  "use strict";
  var el = document.getElementById("live");
  if (!el || !window.EventSource) {
    return;
  }
  var banner = document.getElementById("live-banner");
  var src = new EventSource("/events?" + el.getAttribute("data-query"));
  src.addEventListener("count", function (e) {
    var n = parseInt(e.data, 10);
    if (!(n > 0)) {
      return;
    }
    var a = document.createElement("a");
    a.href = el.getAttribute("data-newest");
    a.textContent = (n >= 1000 ? "1000+" : String(n)) + (n === 1 ? " new alert" : " new alerts") + " \u2014 show";
    banner.textContent = "";
    banner.appendChild(a);
    banner.hidden = false;
    el.setAttribute("data-count", String(n));
  });
})();
