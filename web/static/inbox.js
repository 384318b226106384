// Live counsellor pages: the /inbox namespace says which contact changed; the page re-reads
// itself and swaps the parts that can change. Times are shown in Helsinki time.
// On a chat contact's page it also shows whether the resident is online, typing or gone, and
// tells the resident when the counsellor is writing.
(function () {
  "use strict";
  const status = document.getElementById("live-status");
  const LIVE_PARTS = ["contacts", "messages", "callbacks", "facts", "routing"];
  const clock = new Intl.DateTimeFormat("fi-FI", {
    day: "numeric", month: "numeric", year: "numeric", hour: "2-digit", minute: "2-digit",
    timeZone: "Europe/Helsinki",
  });

  function localTimes(root) {
    for (const el of root.querySelectorAll("time[datetime]")) {
      const at = new Date(el.dateTime);
      if (Number.isNaN(at.getTime())) continue;
      el.textContent = clock.format(at);
      el.title = at.toISOString();
    }
  }
  function setStatus(text, live) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("is-live", live);
  }

  let pending = null;
  function refresh() {
    // Debounced: a burst of events costs one reload of the page's live parts.
    clearTimeout(pending);
    pending = setTimeout(async function () {
      let html;
      try {
        const response = await fetch(window.location.href, { headers: { Accept: "text/html" },
                                                               credentials: "same-origin" });
        if (!response.ok || response.redirected) return;  // e.g. the session ended
        html = await response.text();
      } catch (e) {
        return;  // offline for a moment: the next event or reconnect refreshes again
      }
      const doc = new DOMParser().parseFromString(html, "text/html");
      for (const id of LIVE_PARTS) {
        const fresh = doc.getElementById(id), old = document.getElementById(id);
        if (!fresh || !old) continue;
        const known = new Set(Array.from(old.querySelectorAll("[data-contact-id]"),
                                         (row) => row.dataset.contactId));
        localTimes(fresh);
        if (id === "contacts") {
          for (const row of fresh.querySelectorAll("tbody tr[data-contact-id]")) {
            if (!known.has(row.dataset.contactId)) row.classList.add("is-new");
          }
        }
        old.replaceWith(document.adoptNode(fresh));
      }
      const ended = doc.getElementById("chat-presence");
      if (ended && ended.dataset.ended) presence.end(ended.dataset.ended, ended.textContent);
    }, 150);
  }

  // --- the chat resident: online, typing, gone -------------------------------------------
  const contactEl = document.getElementById("contact");
  const contactId = contactEl ? Number(contactEl.dataset.contactId) : null;
  const presence = (function () {
    const el = document.getElementById("chat-presence");
    const TEXT = { online: "Asukas on paikalla", typing: "Asukas kirjoittaa…",
                   gone: "Asukas on poistunut",
                   unknown: "Yhteys palvelimeen katkesi: asukkaan tilaa ei nyt tiedetä" };
    const TYPING_SHOWN_MS = 5000;
    let state = el ? el.dataset.state : null, typingUntil = null;

    function show(next) {
      if (!el || state === "ended") return;
      if (next !== "typing") clearTimeout(typingUntil);
      if (next === state) return;  // an unchanged live region is not announced again
      state = next;
      el.dataset.state = next;
      el.textContent = TEXT[next];
    }
    return {
      active: Boolean(el) && state !== "ended",
      online() { show("online"); },
      gone() { show("gone"); },
      unknown() { show("unknown"); },  // our own socket is down: say so, never guess
      typing() {
        show("typing");
        clearTimeout(typingUntil);
        typingUntil = setTimeout(function () { if (state === "typing") show("online"); },
                                 TYPING_SHOWN_MS);
      },
      end(endedBy, text) {
        if (!el || state === "ended") return;
        clearTimeout(typingUntil);
        state = "ended";
        el.dataset.state = "ended";
        el.dataset.ended = endedBy;
        el.textContent = text;
        if (contactEl) delete contactEl.dataset.liveChat;
      },
    };
  })();

  function askPresence() {
    if (!presence.active || contactId === null) return;
    socket.timeout(10000).emit("presence", { contact_id: contactId }, function (err, ack) {
      if (err || !ack || ack.error) return;  // the next presence event says it
      if (ack.state === "online") presence.online(); else presence.gone();
    });
  }

  // The counsellor is writing: tell the resident, at most once every 3 s.
  const TYPING_EVERY_MS = 3000;
  let typingSentAt = 0;
  const reply = document.getElementById("reply-text");
  if (reply && contactEl && "liveChat" in contactEl.dataset) {
    reply.addEventListener("input", function () {
      if (!("liveChat" in contactEl.dataset) || !socket.connected) return;
      const now = Date.now();
      if (now - typingSentAt < TYPING_EVERY_MS) return;
      typingSentAt = now;
      socket.emit("typing", { contact_id: contactId });
    });
  }

  localTimes(document);
  const socket = io("/inbox", { transports: ["websocket"] });
  socket.on("connect", function () {
    setStatus("Päivittyy reaaliajassa", true);
    // Catch up on what happened while we were away, and on the first connect on what
    // happened between the server rendering this page and the socket joining its rooms.
    refresh();
    askPresence();
  });
  socket.on("disconnect", function () {
    setStatus("Yhteys katkesi, yhdistetään…", false);
    presence.unknown();
  });
  socket.on("connect_error", function () { setStatus("Ei yhteyttä, yritetään uudelleen…", false); });
  socket.on("event", function (event) {
    if (!event || typeof event.type !== "string") return;
    if (contactEl && String(event.contact_id) !== contactEl.dataset.contactId) return;
    if (event.type === "chat.presence") {
      if (event.state === "online") presence.online(); else presence.gone();
      return;  // never a reload: presence and typing come often
    }
    if (event.type === "chat.typing") {
      presence.typing();
      return;
    }
    if (event.type.startsWith("contact.") || event.type.startsWith("message.")) refresh();
  });
})();
