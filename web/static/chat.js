// Resident chat: start or resume over socket.io /chat; messages are acked after they are stored.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const log = $("chat-log"), errorBox = $("chat-error");
  const KEY = "yhteys.chat";
  let state = JSON.parse(sessionStorage.getItem(KEY) || "null");
  let lastSeen = 0;
  const seen = new Set();
  const socket = io("/chat", { transports: ["websocket"] });

  function show(message) {
    if (message.id && seen.has(message.id)) return;
    if (message.id) { seen.add(message.id); lastSeen = Math.max(lastSeen, message.id); }
    const li = document.createElement("li");
    li.className = "message " + (message.sender === "counsellor" ? "out" : "in");
    const who = document.createElement("div");
    who.className = "meta";
    who.textContent = message.sender === "counsellor" ? (message.name || "Neuvoja") : "Sinä";
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = message.text;  // never innerHTML: chat text is text
    li.append(who, text);
    log.append(li);
    if (state) { state.lastSeen = lastSeen; sessionStorage.setItem(KEY, JSON.stringify(state)); }
  }
  function fail(text) { errorBox.textContent = text; errorBox.hidden = !text; }
  function started() { $("chat-start").hidden = true; $("chat-send").hidden = false; }

  socket.on("connect", function () {
    if (!state) return;
    socket.emit("resume", { token: state.token, last_seen_id: state.lastSeen || 0 }, function (ack) {
      if (ack.error) { sessionStorage.removeItem(KEY); state = null; return; }
      started();
    });
  });
  socket.on("message", show);

  $("chat-start").addEventListener("submit", function (e) {
    e.preventDefault();
    const form = new FormData(e.target);
    const payload = { postal_code: form.get("postal_code"), text: form.get("text"),
                      name: form.get("name") || undefined, language: document.documentElement.lang || "fi" };
    socket.emit("start", payload, function (ack) {
      if (ack.error) return fail(ack.error);
      fail("");
      state = { token: ack.token, conversationId: ack.conversation_id, lastSeen: 0 };
      show({ id: ack.id, text: payload.text, sender: "resident" });
      started();
    });
  });
  $("chat-send").addEventListener("submit", function (e) {
    e.preventDefault();
    const box = $("chat-text"), text = box.value.trim();
    if (!text) return;
    const clientId = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now() + Math.random());
    socket.emit("message", { client_id: clientId, text: text }, function (ack) {
      if (ack.error) return fail(ack.error);
      fail("");
      box.value = "";
      show({ id: ack.id, text: text, sender: "resident" });
    });
  });
})();
