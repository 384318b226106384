// The inbox list, live and by keyboard.
// Live: inbox.js hands over each contact event ("yhteys:contact-event"); this asks the server
// for that one row in the page's own query (GET /inbox/rows/{id}?…) and replaces, inserts in
// order or removes it, and updates the folder counts. A burst of events about one contact
// costs one request. The whole list is re-read only after a lost connection.
// Notices: a new contact for me (assigned to me, or nobody's in one of my areas; a lead: in
// any area) counts in the tab title until I look at its row (focus or open it); one that is
// not in the list I am viewing counts until I come back to the tab. With permission, each
// one is also a desktop notification (an urgent one stays until dismissed), and a tone if
// the sound is on (remembered in localStorage).
// Keyboard: j/k or arrows move, Enter/o open, r reply, t take, c close, / search, ? help.
(function () {
  "use strict";
  const wordsEl = document.getElementById("live-words");
  if (!document.getElementById("contacts") || !wordsEl) return;
  const words = JSON.parse(wordsEl.textContent);
  const w = words.inbox;
  const table = () => document.getElementById("contacts");
  const body = () => table().tBodies[0];
  const rows = () => Array.from(body().querySelectorAll("tr[data-contact-id]"));
  const rowOf = (id) => body().querySelector(`tr[data-contact-id="${Number(id)}"]`);
  const me = {
    id: Number(table().dataset.staffId),
    areas: (table().dataset.areas || "").split(" ").filter(Boolean),
    all: table().dataset.seesAll === "true",
  };
  const announcer = document.getElementById("inbox-announce");
  const baseTitle = document.title;
  const unread = new Set();  // ids of new contacts for me not looked at yet

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g,
                                    (all, key) => (key in values ? String(values[key]) : all));
  }
  function announce(text) {
    if (!announcer) return;
    announcer.textContent = "";
    announcer.textContent = text;
  }

  // --- waiting time, kept ticking in the reader's words ---------------------------------
  function waitingText(seconds) {
    const t = words.waiting;
    const all = Math.max(0, Math.floor(seconds / 60));
    const days = Math.floor(all / 1440), hours = Math.floor((all % 1440) / 60);
    const minutes = all % 60;
    if (days) return fill(t.days, { days: days, hours: hours });
    if (hours) return fill(t.hours, { hours: hours, minutes: minutes });
    if (minutes) return fill(t.minutes, { minutes: minutes });
    return t.now;
  }
  function tick() {
    for (const el of document.querySelectorAll("#contacts .waiting[data-since]")) {
      const since = Date.parse(el.dataset.since);
      if (Number.isNaN(since)) continue;
      const text = waitingText((Date.now() - since) / 1000);
      if (el.textContent !== text) el.textContent = text;
    }
  }
  setInterval(tick, 30000);

  // --- counts and the "1–50 of 120" line ---------------------------------------------------
  function showCounts(data) {
    if (!data || typeof data.counts !== "object") return;
    for (const el of document.querySelectorAll(".tab-count[data-folder]")) {
      const n = data.counts[el.dataset.folder];
      if (Number.isInteger(n) && el.textContent !== String(n)) el.textContent = String(n);
    }
    if (Number.isInteger(data.total)) table().dataset.total = String(data.total);
    if (typeof data.total_capped === "boolean") {
      table().dataset.totalCapped = String(data.total_capped);
    }
    summary();
  }
  function summary() {
    const el = document.getElementById("inbox-summary");
    if (!el) return;
    const total = Number(table().dataset.total);
    const shown = rows().length;
    const first = (Number(table().dataset.page) - 1) * Number(table().dataset.perPage);
    const words = table().dataset.totalCapped === "true" ? w.shownAtLeast : w.shown;
    const text = total ? fill(words, { first: shown ? first + 1 : first,
                                         last: first + shown, total: total }) : w.none;
    if (el.textContent !== text) el.textContent = text;
    const empty = body().querySelector("tr.empty");
    if (empty) empty.hidden = shown > 0;
  }
  function shownCounts() {
    const counts = {};
    for (const el of document.querySelectorAll(".tab-count[data-folder]")) {
      counts[el.dataset.folder] = Number(el.textContent);
    }
    return counts;
  }

  // --- one row at a time ------------------------------------------------------------------
  const timers = new Map(), asked = new Map();  // contact id -> debounce timer, request no.
  function schedule(id) {
    clearTimeout(timers.get(id));
    timers.set(id, setTimeout(function () { timers.delete(id); fetchRow(id); }, 150));
  }
  async function fetchRow(id) {
    const ask = (asked.get(id) || 0) + 1;
    asked.set(id, ask);
    let data;
    try {
      const response = await fetch(`/inbox/rows/${id}${window.location.search}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin" });
      // 404: not (or no longer) mine to see, said as for a contact that does not exist.
      if (response.redirected || (!response.ok && response.status !== 404)) return;
      data = await response.json();
    } catch (e) {
      return;  // offline for a moment: the reconnect re-reads the list
    }
    if (asked.get(id) !== ask) return;  // a later answer about this contact is on its way
    place(id, data.row);
    showCounts(data);
  }
  function parseRow(html) {
    const holder = document.createElement("tbody");
    holder.innerHTML = html;  // the server's own markup (escaped by its templates)
    return holder.querySelector("tr[data-contact-id]");
  }
  function drop(row) {
    const focused = row.contains(document.activeElement);
    const next = row.nextElementSibling && row.nextElementSibling.dataset.contactId
      ? row.nextElementSibling : row.previousElementSibling;
    row.remove();
    if (focused) {
      if (next && next.dataset.contactId) setCurrent(next, true);
      else document.getElementById("contacts").focus();
    }
  }
  // A row that is there already changes in place, cell by cell, so that a click or the
  // focus on it is not lost; it moves only when its place in the order changed.
  function patch(old, fresh) {
    for (const name of ["data-order", "data-urgency", "data-area", "data-channel"]) {
      old.setAttribute(name, fresh.getAttribute(name) || "");
    }
    for (const name of ["urgency-normal", "urgency-high", "urgency-urgent", "mine"]) {
      old.classList.toggle(name, fresh.classList.contains(name));
    }
    const cells = Array.from(fresh.cells);
    cells.forEach(function (cell, i) {
      const mine = old.cells[i];
      if (mine && mine.innerHTML !== cell.innerHTML) mine.replaceWith(cell);
    });
  }
  function place(id, html) {
    const old = rowOf(id);
    if (!html) {
      if (old) { drop(old); announce(fill(w.gone, { id: id })); }
      return;
    }
    const fresh = parseRow(html);
    if (!fresh) return;
    const others = rows().filter((r) => r !== old);
    const perPage = Number(table().dataset.perPage), page = Number(table().dataset.page);
    const next = others.find((r) => r.dataset.order > fresh.dataset.order) || null;
    const later = !next && others.length >= perPage;  // sorts onto a later page
    const earlier = page > 1 && others.length && others[0] === next;  // onto an earlier one
    if (later || earlier) {
      if (old) drop(old);
      return;
    }
    let row = old;
    if (old) {
      const focused = old.contains(document.activeElement) ? document.activeElement : null;
      patch(old, fresh);
      const place = next || body().querySelector("tr.empty");
      if (old.nextElementSibling !== place) body().insertBefore(old, place);
      if (focused && document.activeElement !== focused) {
        (old.contains(focused) ? focused : old).focus();
      }
    } else {
      row = fresh;
      fresh.classList.add("is-new");  // the arrival is shown once (app.css)
      body().insertBefore(fresh, next || body().querySelector("tr.empty"));
    }
    if (unread.has(String(id))) markNew(row);
    const all = rows();
    if (all.length > perPage) all[all.length - 1].remove();
    if (!chosen || !rows().some((r) => r.tabIndex === 0)) setCurrent(rows()[0], false);
  }

  // --- new contacts for me: title count, desktop notification, tone ----------------------
  function forMe(event) {
    if (event.assignee_id === me.id) return true;
    if (event.assignee_id !== null && event.assignee_id !== undefined) return false;
    return me.all || (typeof event.area === "string" && me.areas.includes(event.area));
  }
  function showTitle() {
    document.title = unread.size ? `(${unread.size}) ${baseTitle}` : baseTitle;
  }
  function markNew(row) {
    row.classList.add("is-unread");
    const labels = row.querySelector("td.labels");
    if (labels && !labels.querySelector(".new-label")) {
      const label = document.createElement("span");
      label.className = "hds-status-label hds-status-label--alert new-label";
      label.textContent = w.new;
      labels.append(" ", label);
    }
  }
  // Seen at once (the title), but the row keeps its "New" mark until the focus leaves it:
  // changing it under a pointer that is clicking its link would swallow the click.
  function seen(id) {
    if (!unread.delete(String(id))) return;
    showTitle();
  }
  function unmark(row) {
    if (unread.has(row.dataset.contactId)) return;
    row.classList.remove("is-unread");
    const label = row.querySelector(".new-label");
    if (label) label.remove();
  }
  document.addEventListener("focusout", function (e) {
    const row = e.target.closest ? e.target.closest("#contacts tr[data-contact-id]") : null;
    if (row && !row.contains(e.relatedTarget)) unmark(row);
  });
  function seenElsewhere() {  // back on the tab: what this list cannot show is seen
    for (const id of Array.from(unread)) if (!rowOf(id)) seen(id);
  }
  window.addEventListener("focus", seenElsewhere);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && document.hasFocus()) seenElsewhere();
  });

  function areaName(code) {
    if (!code) return w.city_wide;
    const option = document.querySelector(`#filter-area option[value="${CSS.escape(code)}"]`);
    return option ? option.textContent : code;
  }
  function desktop(event, urgent) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const id = Number(event.contact_id);
    try {
      const notice = new Notification(urgent ? w.notify_urgent : w.notify_title, {
        body: fill(w.notify_body, { channel: words.channel[event.channel] || event.channel,
                                    area: areaName(event.area), id: id }),
        tag: `contact-${id}`, lang: words.lang, requireInteraction: urgent,
      });
      notice.addEventListener("click", function () {
        window.focus();
        notice.close();
        window.location.href = `/contacts/${id}${words.lang_query}`;
      });
    } catch (e) {
      // a browser that shows notifications only from a service worker: the title says it
    }
  }
  function arrived(event) {
    const id = String(Number(event.contact_id));
    if (unread.has(id)) return;
    const urgent = event.urgency === "urgent";
    unread.add(id);
    showTitle();
    const row = rowOf(id);
    if (row) markNew(row);
    announce(fill(urgent ? w.arrived_urgent : w.arrived, { id: id }));
    desktop(event, urgent);
    tone(urgent);
  }

  // The permission is asked for only on a click, as browsers require.
  const tools = document.getElementById("inbox-tools");
  const allow = document.getElementById("notify-allow");
  const permission = document.getElementById("notify-state");
  function showPermission() {
    if (!allow || !permission) return;
    const state = "Notification" in window ? Notification.permission : "unsupported";
    allow.hidden = state !== "default";
    permission.hidden = state === "default" || state === "unsupported";
    permission.textContent = state === "granted" ? w.notifications_on : w.notifications_blocked;
  }
  if (allow) {
    allow.addEventListener("click", async function () {
      try { await Notification.requestPermission(); } catch (e) { /* stays as it was */ }
      showPermission();
      if (allow.hidden) permission.focus();
    });
  }

  const SOUND_KEY = "yhteys.inbox.sound";
  const soundButton = document.getElementById("sound-toggle");
  let soundOn = false, audio = null;
  try { soundOn = window.localStorage.getItem(SOUND_KEY) === "on"; } catch (e) { soundOn = false; }
  function showSound() {
    if (!soundButton) return;
    soundButton.setAttribute("aria-pressed", String(soundOn));
    const icon = soundButton.querySelector(".hds-icon");
    if (icon) icon.className = `hds-icon hds-icon--${soundOn ? "bell" : "bell-crossed"}`;
  }
  function tone(urgent) {
    if (!soundOn) return;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      audio = audio || new Context();
      if (audio.state === "suspended") audio.resume();
      for (const offset of urgent ? [0, 0.28] : [0]) {
        const at = audio.currentTime + offset;
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = urgent ? 988 : 784;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(at);
        osc.stop(at + 0.22);
      }
    } catch (e) {
      // no audio device: the notice is still in the title and on the desktop
    }
  }
  if (soundButton) {
    soundButton.addEventListener("click", function () {
      soundOn = !soundOn;
      try { window.localStorage.setItem(SOUND_KEY, soundOn ? "on" : "off"); } catch (e) { /* */ }
      showSound();
      tone(false);  // what it sounds like; the click also lets the page play sound
    });
  }
  if (tools) tools.hidden = false;
  showPermission();
  showSound();

  // --- keyboard ---------------------------------------------------------------------------
  const search = document.getElementById("search-q");
  let chosen = false;  // has a row had the focus? Until then the first row is the current one
  const help = document.getElementById("shortcuts");
  let returnTo = null;

  function setCurrent(row, focus) {
    for (const r of rows()) r.tabIndex = r === row ? 0 : -1;
    if (focus) row.focus();
  }
  function rowWithFocus() {
    const active = document.activeElement;
    return active && active.closest ? active.closest("#contacts tr[data-contact-id]") : null;
  }
  // From outside the list the first key goes to the current row; then it moves.
  function move(step) {
    const all = rows();
    if (!all.length) return;
    const inList = rowWithFocus();
    const at = all.indexOf(inList || all.find((r) => r.tabIndex === 0));
    const next = at < 0 ? all[0]
      : inList ? all[Math.min(all.length - 1, Math.max(0, at + step))] : all[at];
    setCurrent(next, true);
  }
  function open(row, hash) {
    const link = row.querySelector("td.summary a");
    if (link) window.location.href = link.href + (hash || "");
  }
  async function act(row, what) {
    const id = row.dataset.contactId;
    let ok = false;
    try {
      const response = await fetch(`/api/v1/contacts/${Number(id)}/${what}`, {
        method: "POST", credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": document.body.dataset.csrf || "" },
      });
      ok = response.ok;
    } catch (e) {
      ok = false;
    }
    announce(fill(ok ? (what === "take" ? w.taken : w.closed) : w.failed, { id: id }));
    if (ok) schedule(Number(id));  // the event does it too; both are one request
  }
  function showHelp() {
    if (!help || help.open) return;
    returnTo = document.activeElement;
    help.showModal();
  }
  if (help) {
    help.addEventListener("close", function () {
      if (returnTo && document.contains(returnTo)) returnTo.focus();
      returnTo = null;
    });
  }
  const helpButton = document.getElementById("shortcuts-open");
  if (helpButton) helpButton.addEventListener("click", showHelp);

  function typing(el) {
    return Boolean(el && el.closest && el.closest("input, textarea, select, [contenteditable]"));
  }
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (typing(e.target) || (help && help.open)) return;
    const row = rowWithFocus();
    const onRow = row && document.activeElement === row;
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "ArrowDown": if (!row) return; move(1); break;
      case "ArrowUp": if (!row) return; move(-1); break;
      case "Enter": if (!onRow) return; open(row); break;  // a link opens by itself
      case "o": if (!row) return; open(row); break;
      case "r": if (!row) return; open(row, "#reply"); break;
      case "t": if (!row) return; act(row, "take"); break;
      case "c": if (!row) return; act(row, "close"); break;
      case "/": if (!search) return; search.focus(); search.select(); break;
      case "?": showHelp(); break;
      default: return;
    }
    e.preventDefault();
  });
  // Whatever way a row gets the focus (keys, mouse, Tab), it is the current one and seen.
  document.addEventListener("focusin", function (e) {
    const row = e.target.closest ? e.target.closest("#contacts tr[data-contact-id]") : null;
    if (!row) return;
    chosen = true;
    if (row.tabIndex !== 0) setCurrent(row, false);
    seen(row.dataset.contactId);
  });

  function ready() {
    const all = rows();
    if (all.length && !all.some((r) => r.tabIndex === 0)) all[0].tabIndex = 0;
    for (const r of all) if (unread.has(r.dataset.contactId)) markNew(r);
  }
  ready();

  // --- from inbox.js ----------------------------------------------------------------------
  document.addEventListener("yhteys:contact-event", function (e) {
    const event = e.detail;
    if (!Number.isInteger(event.contact_id)) return;
    if (event.type === "contact.created" && forMe(event)) arrived(event);
    schedule(event.contact_id);
  });
  document.addEventListener("yhteys:swapped", function (e) {
    if (e.detail && e.detail.id === "contacts") ready();
  });
  document.addEventListener("yhteys:connected", async function (e) {
    if (e.detail && e.detail.again) {  // events may have been missed: read the list again
      document.dispatchEvent(new CustomEvent("yhteys:refresh"));
      return;
    }
    // First connect: did anything change between serving the page and joining the rooms?
    try {
      const response = await fetch(`/inbox/counts${window.location.search}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok || response.redirected) return;
      const data = await response.json();
      const before = shownCounts();
      const changed = Object.keys(data.counts).some((f) => data.counts[f] !== before[f])
        || data.total !== Number(table().dataset.total);
      if (changed) document.dispatchEvent(new CustomEvent("yhteys:refresh"));
    } catch (err) {
      // the next event or reconnect catches up
    }
  });
})();
