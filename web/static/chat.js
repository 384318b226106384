// Resident chat: start or resume over socket.io /chat; messages are acked after they are stored.
// Chat text is text: it only ever goes into textContent, never innerHTML.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const log = $("chat-log"), errorBox = $("chat-error"), errorText = $("chat-error-text");
  const status = $("chat-status");
  const KEY = "yhteys.chat";
  const clock = new Intl.DateTimeFormat("fi-FI", { hour: "2-digit", minute: "2-digit",
                                                   timeZone: "Europe/Helsinki" });
  // The server words its errors for developers; residents get them in Finnish.
  const ERRORS = [
    [/postal_code/, "Anna postinumero viidellä numerolla, esimerkiksi 00940."],
    [/longer than/, "Viesti on liian pitkä. Jaa se useampaan viestiin."],
    [/text is required/, "Kirjoita viesti ennen lähettämistä."],
    [/name must/, "Nimi on liian pitkä."],
    [/token|start or resume/, "Keskustelu on päättynyt. Aloita uusi chat."],
    [/rate|too many/i, "Lähetit monta viestiä peräkkäin. Odota hetki ja yritä uudelleen."],
  ];
  let state = null;
  try { state = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { state = null; }
  let lastSeen = 0;
  const seen = new Set();
  const socket = io("/chat", { transports: ["websocket"] });

  function setStatus(text, live) {
    status.textContent = text;
    status.classList.toggle("is-live", Boolean(live));
  }
  function show(message) {
    if (message.id && seen.has(message.id)) return;
    if (message.id) { seen.add(message.id); lastSeen = Math.max(lastSeen, message.id); }
    const counsellor = message.sender === "counsellor";
    const li = document.createElement("li");
    li.className = "message " + (counsellor ? "from-counsellor" : "from-resident");
    li.dataset.sender = counsellor ? "counsellor" : "resident";
    const meta = document.createElement("div");
    meta.className = "meta";
    const who = document.createElement("strong");
    who.textContent = counsellor ? (message.name || "Asumisneuvoja") : "Sinä";
    meta.append(who);
    const at = message.at ? new Date(message.at) : new Date();
    if (!Number.isNaN(at.getTime())) meta.append(" · " + clock.format(at));
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = message.text;
    li.append(meta, text);
    log.append(li);
    log.scrollTop = log.scrollHeight;
  }
  function fail(error) {
    if (!error) { errorBox.hidden = true; errorText.textContent = ""; return; }
    const found = ERRORS.find(([pattern]) => pattern.test(error));
    errorText.textContent = found ? found[1] : "Viestiä ei voitu lähettää. Yritä uudelleen.";
    errorBox.hidden = false;
  }
  function started() {
    $("chat-start").hidden = true;
    log.hidden = false;
    $("chat-send").hidden = false;
    $("chat-text").focus();
  }

  socket.on("connect", function () {
    setStatus("Yhteydessä", true);
    if (!state) return;
    // lastSeen is this page's own: a fresh page (reload) gets the whole conversation again.
    socket.emit("resume", { token: state.token, last_seen_id: lastSeen }, function (ack) {
      if (!ack || ack.error) { sessionStorage.removeItem(KEY); state = null; return; }
      started();
    });
  });
  socket.on("disconnect", function () { setStatus("Yhteys katkesi, yhdistetään uudelleen…", false); });
  socket.on("message", show);

  $("chat-start").addEventListener("submit", function (e) {
    e.preventDefault();
    const form = new FormData(e.target);
    const payload = { postal_code: String(form.get("postal_code")).trim(),
                      text: String(form.get("text")).trim(),
                      name: String(form.get("name") || "").trim() || undefined,
                      language: document.documentElement.lang || "fi" };
    const button = e.target.querySelector("button");
    button.disabled = true;
    socket.emit("start", payload, function (ack) {
      button.disabled = false;
      if (!ack || ack.error) return fail(ack ? ack.error : "no answer");
      fail("");
      state = { token: ack.token, conversationId: ack.conversation_id };
      sessionStorage.setItem(KEY, JSON.stringify(state));
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
      if (!ack || ack.error) return fail(ack ? ack.error : "no answer");
      fail("");
      if (box.value.trim() === text) box.value = "";
      show({ id: ack.id, text: text, sender: "resident" });
    });
  });
  $("chat-text").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("chat-send").requestSubmit();
    }
  });
})();
