/* Yhteys chat loader for hel.fi: <script src="https://HOST/widget.js" data-lang="sv" data-topic="2" async>.
 * Draws one button and loads nothing else from Yhteys until the resident clicks it (the click
 * is the consent choice). Styled through Shadow DOM + CSSOM only, so a host CSP without
 * 'unsafe-inline' for styles sees no violation. Talks to its frame only by postMessage with
 * an explicit target origin, and listens only to that frame. No dependencies. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector('script[src$="/widget.js"]');
  if (!script || window.__yhteysWidget) return;
  window.__yhteysWidget = true;
  var ORIGIN = new URL(script.src, location.href).origin;
  var LABELS = {
    fi: { open: "Kysy asumisneuvojalta", title: "Asumisneuvonnan chat", unread: " uutta viestiä" },
    sv: { open: "Fråga bostadsrådgivningen", title: "Bostadsrådgivningens chatt", unread: " nya meddelanden" },
    en: { open: "Ask a housing counsellor", title: "Housing counselling chat", unread: " new messages" }
  };
  var pageLang = (document.documentElement.lang || "").slice(0, 2).toLowerCase();
  var lang = LABELS[script.dataset.lang] ? script.dataset.lang : (LABELS[pageLang] ? pageLang : "fi");
  var topic = /^[0-9]{1,3}$/.test(script.dataset.topic || "") ? script.dataset.topic : "";
  var L = LABELS[lang];
  var KEY = "yhteys.widget";
  var CSS = [
    ":host { all: initial; }",
    ".launcher { position: fixed; right: 24px; bottom: 24px; z-index: 2147483000; display: inline-flex;",
    "  align-items: center; gap: 8px; min-height: 56px; padding: 0 20px; border: 2px solid #0000bf;",
    "  border-radius: 0; background: #0000bf; color: #fff; cursor: pointer;",
    "  font: 500 16px/1.5 HelsinkiGroteskPro, 'Helsinki Grotesk', Arial, sans-serif;",
    "  box-shadow: 0 4px 16px rgba(0,0,0,.2); }",
    ".launcher:hover { background: #00005e; border-color: #00005e; }",
    ".launcher:focus { outline: none; }",
    ".launcher:focus-visible { outline: 2px solid #0000bf; outline-offset: 2px; box-shadow: inset 0 0 0 2px #fff; }",
    ".launcher[hidden], .panel[hidden], .badge[hidden] { display: none; }",
    ".icon { width: 24px; height: 24px; flex: none; }",
    ".badge { min-width: 24px; height: 24px; padding: 0 6px; border-radius: 12px; background: #fff;",
    "  color: #0000bf; font-weight: 700; line-height: 24px; text-align: center; box-sizing: border-box; }",
    ".sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);",
    "  white-space: nowrap; }",
    ".panel { position: fixed; right: 24px; bottom: 24px; z-index: 2147483001; width: 400px;",
    "  height: min(680px, calc(100vh - 48px)); max-width: calc(100vw - 48px); background: #fff;",
    "  border: 1px solid #808080; box-shadow: 0 8px 32px rgba(0,0,0,.25); box-sizing: border-box; }",
    ".frame { display: block; width: 100%; height: 100%; border: 0; }",
    "@media (max-width: 480px) { .panel { inset: 0; width: 100%; height: 100%; max-width: none; border: 0; } }"
  ].join("\n");

  var hostEl = document.createElement("div");
  hostEl.id = "yhteys-chat-widget";
  var shadow = hostEl.attachShadow({ mode: "open" });
  if ("adoptedStyleSheets" in shadow && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  }
  var SVG = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("focusable", "false");
  icon.setAttribute("class", "icon");
  var path = document.createElementNS(SVG, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2h-9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm0 2v11h4v1.8L10.3 16H20V5H4zm3 3h10v2H7V8zm0 3h7v2H7v-2z");
  icon.appendChild(path);

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.setAttribute("aria-haspopup", "dialog");
  launcher.setAttribute("aria-expanded", "false");
  var label = document.createElement("span");
  label.textContent = L.open;
  var badge = document.createElement("span");
  badge.className = "badge";
  badge.setAttribute("aria-hidden", "true");
  badge.hidden = true;
  var unreadText = document.createElement("span");
  unreadText.className = "sr";
  launcher.append(icon, label, badge, unreadText);
  shadow.appendChild(launcher);
  (document.body || document.documentElement).appendChild(hostEl);

  var panel = null, frame = null, ready = false, wantFocus = false;
  function remember(value) {
    try {
      if (value) sessionStorage.setItem(KEY, JSON.stringify(value)); else sessionStorage.removeItem(KEY);
    } catch (e) { /* no storage: no re-open after a reload */ }
  }
  function recalled() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { return null; }
  }
  function post(message) { if (frame && frame.contentWindow) frame.contentWindow.postMessage(message, ORIGIN); }
  function unread(count) {
    badge.textContent = count > 0 ? String(count) : "";
    badge.hidden = !(count > 0);
    unreadText.textContent = count > 0 ? ", " + count + L.unread : "";
  }
  function build() {
    panel = document.createElement("div");
    panel.className = "panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", L.title);
    panel.id = "yhteys-panel";
    frame = document.createElement("iframe");
    frame.className = "frame";
    frame.title = L.title;
    frame.src = ORIGIN + "/widget?lang=" + encodeURIComponent(lang) + (topic ? "&topic=" + topic : "")
      + "&host=" + encodeURIComponent(location.origin);
    panel.appendChild(frame);
    shadow.appendChild(panel);
    launcher.setAttribute("aria-controls", panel.id);
  }
  function open(focus) {
    if (!panel) build();
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    unread(0);
    remember({ open: true, minimised: false });
    wantFocus = focus;
    if (ready && focus) { frame.focus(); post({ type: "yhteys:open" }); }
  }
  function minimise() {
    if (panel) panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    remember({ open: true, minimised: true });
    launcher.focus();
  }
  function close() {
    if (panel) panel.remove();
    panel = frame = null;
    ready = false;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    launcher.removeAttribute("aria-controls");
    unread(0);
    remember(null);
    launcher.focus();
  }
  launcher.addEventListener("click", function () { open(true); });
  window.addEventListener("message", function (e) {
    if (e.origin !== ORIGIN || !frame || e.source !== frame.contentWindow) return;
    var data = e.data;
    if (!data || typeof data.type !== "string") return;
    if (data.type === "yhteys:ready") {
      ready = true;
      if (wantFocus && !panel.hidden) { frame.focus(); post({ type: "yhteys:open" }); }
    } else if (data.type === "yhteys:minimise") minimise();
    else if (data.type === "yhteys:close") close();
    else if (data.type === "yhteys:unread" && typeof data.count === "number") {
      unread(panel && panel.hidden ? Math.max(0, Math.floor(data.count)) : 0);
    }
  });

  // Clicked before in this tab: the consent stands, so the chat comes back as it was left.
  var before = recalled();
  if (before && before.open) {
    build();
    if (before.minimised) { panel.hidden = true; remember(before); } else open(false);
  }
})();
