/* The console's only script (no inline scripts: the CSP allows scripts from this origin only).
   Draws every chart whose ECharts option the server embedded, keeps SLA countdowns live, sends the CSRF token
   with every htmx request, and shows upload progress. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function drawCharts(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var source = document.getElementById("chart-" + el.dataset.chart);
      if (!source) { return; }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(JSON.parse(source.textContent));
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  function words() {
    var el = document.getElementById("countdown-words");
    return el ? el.dataset : { left: "left", overdue: "overdue by" };
  }

  function span(ms, lang) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    var units = lang === "zh" ? ["天", "小时", "分"] : ["d ", "h ", "m "];
    var parts = [];
    [d, h, m].forEach(function (n, i) { if (n) { parts.push(n + units[i]); } });
    return (parts.slice(0, 2).join("") || (lang === "zh" ? "0分" : "0m")).trim();
  }

  function tick(root) {
    var lang = document.body.dataset.lang || "zh", w = words(), now = Date.now();
    root.querySelectorAll("time.countdown[data-due]").forEach(function (el) {
      var ms = Date.parse(el.dataset.due) - now;
      var text = ms >= 0 ? (lang === "zh" ? w.left + " " + span(ms, lang) : span(ms, lang) + " " + w.left)
                         : w.overdue + " " + span(ms, lang);
      el.textContent = text;
      el.classList.toggle("late", ms < 0);
      el.classList.toggle("soon", ms >= 0 && ms < 4 * 3600000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    tick(document);
    window.setInterval(function () { tick(document); }, 30000);
  });
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    drawCharts(document);
    tick(event.detail.target.parentNode || document);
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = document.getElementById("upload-progress");
    if (bar && event.detail.lengthComputable) {
      bar.hidden = false;
      bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var target = event.detail.target;
    if (target) {
      var p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.textContent = "HTTP " + event.detail.xhr.status;
      target.appendChild(p);
    }
  });
})();
