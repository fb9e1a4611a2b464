//! The one stylesheet and the one script of the HTML pages, constants allowed by their hash in
//! the Content-Security-Policy (no `'unsafe-inline'`). What varies reaches them through escaped
//! `data-` attributes.

/// WCAG 2.2 AA: text and controls at least 4.5:1 on white, a focus ring of 3px at 15:1 with an
/// offset, nothing moving for those who asked for reduced motion; code blocks wrap instead of
/// scrolling sideways, which a keyboard could not do. The accent (buttons, links,
/// the state's border) is the custom property `--accent`, which a branded page sets in a second
/// small style of its own (`page_look.rs`).
pub const PAGE_STYLE: &str = ":root{--accent:#0b5cad}\
body{font-family:system-ui,sans-serif;max-width:38rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5;color:#1a1a1a;background:#fff}a{color:var(--accent)}\
.button{display:inline-block;padding:.8rem 1.4rem;background:var(--accent);color:#fff;border:0;\
border-radius:.4rem;text-decoration:none;font-size:1.1rem;cursor:pointer}\
.button.secondary{background:#fff;color:var(--accent);border:2px solid var(--accent);padding:.5rem 1rem;font-size:1rem}\
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #1a1a1a;outline-offset:3px}\
[hidden]{display:none!important}.detail{color:#545454;font-size:.95rem}\
.state{font-size:1.15rem;font-weight:600;padding:.8rem 1rem;border-left:.4rem solid var(--accent);background:#f2f6fb}\
.state[data-state=running]{border-color:#1d7a36}.state[data-state=ended]{border-color:#545454}\
.state[data-state=disrupted]{border-color:#b3261e}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}dd{margin:0}\
.description{white-space:pre-line}input{font:inherit;width:100%;box-sizing:border-box;padding:.4rem;\
border:1px solid #6b6b6b;border-radius:.3rem}\
.reference{font-family:ui-monospace,monospace}.brand{display:flex;gap:.8rem;align-items:center}\
.brand img{max-height:3rem}\
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important;scroll-behavior:auto!important}}\
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f4f4;padding:.6rem}code{overflow-wrap:anywhere}";

/// Follows the state of the rendezvous through its events stream (EventSource), falling back to
/// polling is-running when the stream cannot be had; shows one of waiting / running / ended /
/// disrupted, the time of the last check, the presence of the user's page (agent) and the
/// countdown to the appointment; copies the user's link (agent).
pub const PAGE_SCRIPT: &str = r#"(function () {
  "use strict";
  var root = document.getElementById("rdv");
  if (!root) { return; }
  var d = root.dataset;
  var agent = d.role === "agent";
  var status = document.getElementById("status");
  var join = document.getElementById("join");
  var checked = document.getElementById("checked");
  var presence = document.getElementById("presence");
  var baseTitle = document.title;
  var shown = null;
  function clock(iso) {
    var date = new Date(iso);
    return isNaN(date) ? "" : date.toLocaleTimeString(d.lang, {hour: "2-digit", minute: "2-digit", second: "2-digit"});
  }
  function show(state) {
    var name = state.stale ? "disrupted" : state.running ? "running" : state.ended ? "ended" : "waiting";
    if (name !== shown) {
      shown = name;
      root.setAttribute("data-state", name);
      status.setAttribute("data-state", name);
      status.textContent = d["say" + name.charAt(0).toUpperCase() + name.slice(1)];
      join.hidden = name === "disrupted" || (!agent && name !== "running");
      document.title = name === "running" ? d.titleRunning + " – " + baseTitle : baseTitle;
    }
    if (state.checked_at) { checked.textContent = d.checkedLabel + " " + clock(state.checked_at); }
    if (presence && typeof state.user_page_open === "boolean") {
      var open = state.user_page_open ? "yes" : "no";
      if (presence.getAttribute("data-open") !== open) {
        presence.setAttribute("data-open", open);
        presence.textContent = state.user_page_open ? d.present : d.absent;
      }
    }
  }
  var polling = false;
  function poll() {
    polling = true;
    fetch(d.poll, {headers: {Accept: "application/json"}, cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        show({running: answer.data === true, ended: false, stale: answer.stale === true,
              checked_at: new Date().toISOString()});
        setTimeout(poll, 5000);
      }, function () {
        show({running: false, ended: false, stale: true, checked_at: null});
        setTimeout(poll, 10000);
      });
  }
  if (window.EventSource && d.events) {
    var source = new EventSource(d.events);
    var failures = 0;
    source.addEventListener("state", function (event) {
      failures = 0;
      try { show(JSON.parse(event.data)); } catch (e) { /* a later event will do */ }
    });
    source.onerror = function () {
      failures += 1;
      if (source.readyState === 2 || failures >= 3) {
        source.close();
        if (!polling) { poll(); }
      }
    };
  } else {
    poll();
  }
  var countdown = document.getElementById("countdown");
  if (countdown && window.Intl && Intl.RelativeTimeFormat) {
    var start = Date.parse(countdown.getAttribute("data-start"));
    var words = new Intl.RelativeTimeFormat(d.lang, {numeric: "auto"});
    var tick = function () {
      var minutes = Math.round((start - Date.now()) / 60000);
      if (isNaN(start) || minutes <= 0) { countdown.hidden = true; return; }
      countdown.textContent = minutes < 120 ? words.format(minutes, "minute")
        : minutes < 2880 ? words.format(Math.round(minutes / 60), "hour")
        : words.format(Math.round(minutes / 1440), "day");
      countdown.hidden = false;
      setTimeout(tick, 30000);
    };
    tick();
  }
  var copy = document.getElementById("copy");
  var link = document.getElementById("user-link");
  var copied = document.getElementById("copied");
  if (copy && link) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var done = function () { copied.textContent = d.copied; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(link.value).then(done, function () { link.select(); });
      } else { link.select(); }
    });
  }
})();"#;
