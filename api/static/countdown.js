// Live countdowns and confirmations of the approval page (no inline script: the page's CSP forbids it).
(function () {
  "use strict";
  function span(minutes) {
    if (minutes < 60) return minutes + " min";
    if (minutes < 48 * 60) return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
    return Math.floor(minutes / 1440) + " d " + Math.floor((minutes % 1440) / 60) + " h";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) return;
      var seconds = Math.round((due - now) / 1000);
      var abs = Math.abs(seconds);
      var text = abs < 3600
        ? Math.floor(abs / 60) + ":" + String(abs % 60).padStart(2, "0")
        : span(Math.floor(abs / 60));
      el.textContent = seconds < 0 ? "超时 overdue " + text : "剩余 " + text + " left";
      el.classList.toggle("overdue", seconds < 0);
      el.classList.toggle("soon", seconds >= 0 && seconds < 600);
    });
  }
  tick();
  setInterval(tick, 1000);
  // Destructive choices (decline, escalate, reject…) ask once more before the form is sent.
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();
