// The one chat client of /widget and /chat (socket.io /chat, protocol v2).
// Nothing lost, nothing doubled: messages are held by id, last_seen_id is the end of the
// contiguous seq run, typed messages wait in a sessionStorage outbox that is re-sent only
// after `resume` is acked. Chat text only ever goes into textContent. Every word the
// resident reads comes from the catalog embedded in the page (#yhteys-i18n).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const root = $("yh-chat");
  const I18N = JSON.parse($("yhteys-i18n").textContent);
  const lang = root.dataset.lang;
  const MAX = Number(root.dataset.max);
  const host = root.dataset.host || "";
  const KEY = "yhteys.chat.v2";
  const TZ = "Europe/Helsinki";
  const clock = new Intl.DateTimeFormat(lang, { hour: "numeric", minute: "2-digit", timeZone: TZ });
  const stamp = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short", timeZone: TZ });
  const when = new Intl.DateTimeFormat(lang, { weekday: "short", hour: "numeric", minute: "2-digit",
                                               timeZone: TZ });
  const log = $("yh-log");

  function t(key, params) {
    const text = I18N[key] !== undefined ? I18N[key] : I18N["error.unknown"];
    return text.replace(/\{(\w+)\}/g, (m, k) => (params && k in params ? String(params[k]) : m));
  }
  function opensAt(value) {
    const at = value ? new Date(value) : null;
    return at && !Number.isNaN(at.getTime()) ? when.format(at) : "";
  }
  function minutes(seconds) { return Math.max(1, Math.round(seconds / 60)); }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // --- state: sessionStorage (survives reloads of this tab), memory if storage is refused ---
  function blank() {
    return { token: null, conversationId: null, ended: false, messages: {}, outbox: [],
             pendingStart: null };
  }
  let state = blank();
  try { state = Object.assign(blank(), JSON.parse(sessionStorage.getItem(KEY)) || {}); } catch (e) { /* fresh */ }
  function save() { try { sessionStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* memory only */ } }

  /** The id of the message with the highest seq S such that seqs 1..S are all held. */
  function lastSeenId() {
    const bySeq = new Map();
    Object.values(state.messages).forEach((m) => { if (m.seq) bySeq.set(m.seq, m.id); });
    let seq = 0, id = 0;
    while (bySeq.has(seq + 1)) { seq += 1; id = bySeq.get(seq); }
    return id;
  }

  // --- views and lines ---
  function show(view) {
    ["yh-prechat", "yh-callback-view", "yh-conversation"].forEach((v) => { $(v).hidden = v !== view; });
    root.classList.toggle("is-talking", view === "yh-conversation");
  }
  function line(id, text) { $(id).textContent = text || ""; }
  function error(text) {
    $("yh-error-text").textContent = text || "";
    $("yh-error").hidden = !text;
  }
  function refusal(ack) { return t("error." + (ack && I18N["error." + ack.code] ? ack.code : "unknown"), ack && ack.params); }
  function fieldError(input, text) {
    const box = $(input.id + "-error"), field = input.closest(".hds-text-input");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== box.id);
    if (text) described.push(box.id);
    box.textContent = text || "";
    box.hidden = !text;
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
    if (text) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    if (field) field.classList.toggle("hds-text-input--invalid", Boolean(text));
  }
  function counter(input) {
    const out = $(input.dataset.counter), left = MAX - input.value.length;
    out.textContent = left < 0 ? t("counter.over", { over: -left })
      : left <= MAX / 10 ? t("counter.left", { left: left }) : "";
    out.classList.toggle("is-over", left < 0);
  }
  document.querySelectorAll("[data-counter]").forEach((input) => {
    input.addEventListener("input", () => counter(input));
  });

  function item(m, sending) {
    const counsellor = m.sender === "counsellor";
    const li = document.createElement("li");
    li.className = "yh-message " + (counsellor ? "yh-message--counsellor" : "yh-message--resident");
    li.dataset.sender = counsellor ? "counsellor" : "resident";
    if (m.id) { li.dataset.id = String(m.id); li.dataset.seq = String(m.seq || 0); }
    if (m.client_id) li.dataset.clientId = m.client_id;
    const meta = document.createElement("p");
    meta.className = "yh-message__meta";
    const who = document.createElement("span");
    who.className = "yh-message__who";
    who.textContent = counsellor ? (m.name || t("message.counsellor")) : t("message.you");
    const at = new Date(m.at || Date.now());
    const time = document.createElement("time");
    time.dateTime = at.toISOString();
    time.textContent = clock.format(at);
    const note = document.createElement("span");
    note.className = "yh-message__state";
    note.textContent = sending ? t("message.sending") : "";
    meta.append(who, " ", time, " ", note);
    const text = document.createElement("p");
    text.className = "yh-message__text";
    text.textContent = m.text;
    li.append(meta, text);
    li.classList.toggle("is-sending", Boolean(sending));
    return li;
  }
  function order(m) { return [m.seq || 0, m.id || 0]; }
  function place(li, m) {
    const [seq, id] = order(m);
    const after = Array.from(log.children).find((other) => {
      if (!other.dataset.id) return true; // sending and notices stay after every held message
      const s = Number(other.dataset.seq), i = Number(other.dataset.id);
      return s > seq || (s === seq && i > id);
    });
    log.insertBefore(li, after || null);
    li.scrollIntoView({ block: "nearest" });
  }
  function notice(text) {
    const li = document.createElement("li");
    li.className = "yh-notice";
    li.textContent = text;
    log.append(li);
    li.scrollIntoView({ block: "nearest" });
  }
  function findSending(clientId) {
    return Array.from(log.querySelectorAll("li.is-sending")).find((li) => li.dataset.clientId === clientId);
  }

  /** Holds a message once; a held message whose client_id is in the outbox settles it. */
  function hold(m, live) {
    if (!m || !m.id || state.messages[m.id]) return false;
    state.messages[m.id] = m;
    const pending = m.client_id ? findSending(m.client_id) : null;
    if (m.client_id) state.outbox = state.outbox.filter((e) => e.client_id !== m.client_id);
    if (pending) pending.remove();
    place(item(m, false), m);
    save();
    if (live && m.sender === "counsellor") { line("yh-typing", ""); frame.unread(); }
    return true;
  }
  function renderAll() {
    log.textContent = "";
    Object.values(state.messages).sort((a, b) => {
      const [sa, ia] = order(a), [sb, ib] = order(b);
      return sa - sb || ia - ib;
    }).forEach((m) => log.append(item(m, false)));
    if (state.pendingStart) log.append(item(startMessage(), true));
    state.outbox.forEach((e) => log.append(item({ text: e.text, at: e.at, client_id: e.client_id, sender: "resident" }, true)));
  }
  function startMessage() {
    const p = state.pendingStart;
    return { text: p.payload.text, at: p.at, client_id: p.client_id, sender: "resident" };
  }

  // --- status events in words ---
  function applyStatus(s, live) {
    if (!s || !s.state) return;
    const wait = s.expected_wait_s != null ? minutes(s.expected_wait_s) : null;
    let text = "";
    if (s.state === "queued") {
      text = s.position ? t(wait ? "status.queued_wait" : "status.queued", { position: s.position, minutes: wait })
        : t("status.waiting");
      if (s.event === "transferred") { text = t("status.transferred") + " " + text; if (live) notice(t("status.transferred")); }
    } else if (s.state === "assigned") {
      text = s.counsellor ? t("status.assigned", { name: s.counsellor }) : t("status.assigned_anon");
      if (s.event === "joined" && live) notice(t("status.joined", { name: s.counsellor || t("message.counsellor") }));
      if (s.event === "transferred" && live) notice(t("status.transferred"));
    } else if (s.state === "offline") {
      const at = opensAt(s.opens_at);
      text = at ? t("status.offline", { when: at }) : t("status.offline_unknown");
    } else if (s.state === "closed") {
      text = t(s.event === "ended_by_counsellor" || s.event === "ended_by_resident" ? "status." + s.event : "status.closed");
      if (live && !state.ended) notice(text);
      ended();
    }
    line("yh-status", text);
  }
  function ended() {
    state.ended = true;
    state.outbox = [];
    save();
    log.querySelectorAll("li.is-sending").forEach((li) => markNotSent(li));
    ["yh-send", "yh-end", "yh-end-confirm"].forEach((id) => { $(id).hidden = true; });
    $("yh-ended").hidden = false;
  }
  function markNotSent(li) {
    li.classList.remove("is-sending");
    li.classList.add("is-failed");
    li.querySelector(".yh-message__state").textContent = t("message.not_sent");
  }

  // --- the socket: resume first, then the outbox, in order, one at a time ---
  const socket = io("/chat", { transports: ["websocket"], auth: { lang: lang }, autoConnect: false });
  let ready = false, flushing = false, everConnected = false;
  function retry() { ready = false; socket.disconnect(); window.setTimeout(() => socket.connect(), 1000); }

  socket.on("connect", () => {
    if (everConnected) line("yh-connection", t("connection.back"));
    everConnected = true;
    if (state.pendingStart) emitStart();
    else if (state.token) resume();
  });
  socket.on("disconnect", () => { ready = false; flushing = false; line("yh-connection", t("connection.lost")); });
  socket.on("connect_error", () => line("yh-connection", t("connection.lost")));
  socket.on("message", (m) => { if (state.token || state.pendingStart) hold(m, true); });
  socket.on("status", (s) => applyStatus(s, true));
  let typingTimer = 0;
  socket.on("typing", (d) => {
    line("yh-typing", d && d.name ? t("typing.named", { name: d.name }) : t("typing.anon"));
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(() => line("yh-typing", ""), 5000);
  });

  function resume() {
    socket.timeout(10000).emit("resume", { token: state.token, last_seen_id: lastSeenId() }, (err, ack) => {
      if (err) return retry();
      if (!ack || ack.error) {
        if (ack && ack.code === "token_unknown") { reset(); error(refusal(ack)); }
        else error(refusal(ack));
        return;
      }
      ready = true;
      error("");
      show("yh-conversation");
      if (ack.ended) ended(); else if (ack.status) applyStatus(ack.status, false);
      flush();
    });
  }
  function emitStart() {
    const p = state.pendingStart;
    socket.timeout(10000).emit("start", Object.assign({ client_id: p.client_id }, p.payload), (err, ack) => {
      if (err) return retry();
      if (state.pendingStart !== p) return;
      state.pendingStart = null;
      if (!ack || ack.error) { save(); renderAll(); chat.onRefused(ack); return; }
      state.token = ack.token;
      state.conversationId = ack.conversation_id;
      hold({ id: ack.id, seq: ack.seq, text: p.payload.text, sender: "resident", name: null, at: p.at,
             client_id: p.client_id }, false);
      ready = true;
      error("");
      applyStatus(ack.status || { state: "queued", position: ack.position }, false);
      flush();
    });
  }
  function flush() {
    if (!ready || flushing || !state.token || state.ended || !socket.connected) return;
    const entry = state.outbox[0];
    if (!entry) return;
    flushing = true;
    socket.timeout(10000).emit("message", { client_id: entry.client_id, text: entry.text }, (err, ack) => {
      flushing = false;
      if (err) return retry();
      if (ack && !ack.error) {
        hold({ id: ack.id, seq: ack.seq, text: entry.text, sender: "resident", name: null, at: entry.at,
               client_id: entry.client_id }, false);
        state.outbox = state.outbox.filter((e) => e.client_id !== entry.client_id);
        save();
        return flush();
      }
      error(refusal(ack));
      if (ack && ack.code === "rate_limited") { window.setTimeout(flush, 3000); return; }
      if (ack && ack.code === "no_conversation") return retry();
      if (ack && ack.code === "ended") return ended();
      state.outbox = state.outbox.filter((e) => e.client_id !== entry.client_id);
      save();
      const li = findSending(entry.client_id);
      if (li) markNotSent(li);
      flush();
    });
  }
  function reset() {
    state = blank();
    save();
    renderAll();
    ["yh-send", "yh-end"].forEach((id) => { $(id).hidden = false; });
    $("yh-ended").hidden = true;
    line("yh-status", "");
    show("yh-prechat");
  }

  // --- composer, end, transcript ---
  const text = $("yh-text");
  let lastTyping = 0;
  text.addEventListener("input", () => {
    if (ready && Date.now() - lastTyping > 3000) { lastTyping = Date.now(); socket.volatile.emit("typing", {}); }
  });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("yh-send").requestSubmit(); }
  });
  $("yh-send").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = text.value.trim();
    if (!value) return fieldError(text, t("field.text_required"));
    if (value.length > MAX) return fieldError(text, t("field.text_too_long", { max: MAX }));
    fieldError(text, "");
    const entry = { client_id: uuid(), text: value, at: new Date().toISOString() };
    state.outbox.push(entry);
    save();
    text.value = "";
    counter(text);
    log.append(item({ text: entry.text, at: entry.at, client_id: entry.client_id, sender: "resident" }, true));
    log.lastElementChild.scrollIntoView({ block: "nearest" });
    flush();
  });
  $("yh-end").addEventListener("click", () => { $("yh-end-confirm").hidden = false; $("yh-end-no").focus(); });
  $("yh-end-no").addEventListener("click", () => { $("yh-end-confirm").hidden = true; $("yh-end").focus(); });
  $("yh-end-yes").addEventListener("click", () => {
    if (!ready) return error(t("error.offline"));
    socket.timeout(10000).emit("end", {}, (err, ack) => {
      if (err || !ack || ack.error) return error(err ? t("error.timeout") : refusal(ack));
      if (!state.ended) { line("yh-status", t("status.ended_by_resident")); notice(t("status.ended_by_resident")); ended(); }
      $("yh-new").focus();
    });
  });
  $("yh-new").addEventListener("click", () => { reset(); chat.focusFirst(); });
  $("yh-download").addEventListener("click", () => {
    const lines = [t("transcript.title"), stamp.format(new Date()), ""];
    Object.values(state.messages).sort((a, b) => (a.seq || 0) - (b.seq || 0) || a.id - b.id).forEach((m) => {
      const who = m.sender === "counsellor" ? (m.name || t("message.counsellor")) : t("message.you");
      lines.push("[" + stamp.format(new Date(m.at)) + "] " + who + ":", m.text, "");
    });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([lines.join("\n")], { type: "text/plain;charset=utf-8" }));
    a.download = t("transcript.filename") + "-" + new Date().toISOString().slice(0, 10) + ".txt";
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });

  // --- the frame's side of postMessage: only to and from the host the server vouched for ---
  const frame = {
    minimised: false,
    count: 0,
    post(message) { if (host && window.parent !== window) window.parent.postMessage(message, host); },
    unread() {
      if (!this.minimised && document.hasFocus()) return;
      this.count += 1;
      this.post({ type: "yhteys:unread", count: this.count });
    },
    seen() { if (this.count) { this.count = 0; this.post({ type: "yhteys:unread", count: 0 }); } },
    minimise() { this.minimised = true; this.post({ type: "yhteys:minimise" }); },
  };
  window.addEventListener("message", (e) => {
    if (!host || e.origin !== host || e.source !== window.parent) return;
    if (e.data && e.data.type === "yhteys:open") { frame.minimised = false; frame.seen(); chat.focusFirst(); }
  });
  window.addEventListener("focus", () => frame.seen());
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || !host) return;
    if (!$("yh-end-confirm").hidden) { $("yh-end-no").click(); return; }
    frame.minimise();
  });
  if ($("yh-minimise")) $("yh-minimise").addEventListener("click", () => frame.minimise());
  if ($("yh-close")) $("yh-close").addEventListener("click", () => frame.post({ type: "yhteys:close" }));
  window.addEventListener("offline", () => socket.disconnect());
  window.addEventListener("online", () => socket.connect());

  /** What chat-prechat.js uses. */
  const chat = {
    t, lang, MAX, opensAt, minutes, fieldError, counter, error, show,
    onRefused() {},
    focusFirst() {
      if (!$("yh-conversation").hidden && !$("yh-send").hidden) { text.focus(); return; }
      const view = ["yh-prechat", "yh-callback-view", "yh-conversation"].map($).find((v) => !v.hidden);
      const first = view && Array.from(view.querySelectorAll("select, input:not([disabled]), textarea, button"))
        .find((el) => !el.closest("[hidden]"));
      if (first) first.focus();
    },
    started() { return Boolean(state.token || state.pendingStart); },
    start(payload) {
      if (state.token || state.pendingStart) return;
      state.pendingStart = { client_id: uuid(), payload: payload, at: new Date().toISOString() };
      save();
      renderAll();
      show("yh-conversation");
      line("yh-status", t("status.starting"));
      text.focus();
      if (socket.connected) emitStart();
    },
  };
  window.YhteysChat = chat;
  renderAll();
  if (state.token || state.pendingStart) show("yh-conversation");
  if (state.ended) ended();
  socket.connect();
  frame.post({ type: "yhteys:ready" });
})();
