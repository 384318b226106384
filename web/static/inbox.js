// Live counsellor pages: the /inbox namespace says which contact or callback changed; the
// page re-reads itself and swaps the parts that can change. Times are shown in Helsinki time.
// The inbox list is the exception: it is patched one row at a time (inbox-list.js, which
// gets the contact events from here) and re-read whole only after a lost connection.
// On a chat contact's page it also shows whether the resident is online, typing or gone, and
// tells the resident when the counsellor is writing. On every page it shows who is calling
// when the counsellor's desk phone rings (call.ringing, only to them), until it is answered.
// Every word comes from the page: #live-words (_live_words.html), #live-status-words.
(function () {
  "use strict";
  function readJson(id) {
    const el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }
  const words = readJson("live-words") || {};
  const statusWords = readJson("live-status-words") || {};  // base.html: every signed-in page
  const LOCALES = { fi: "fi-FI", sv: "sv-FI", en: "en-GB" };
  const status = document.getElementById("live-status");
  const rowList = document.querySelector("[data-live-rows]");  // the inbox: row by row
  const LIVE_PARTS = ["contacts", "folder-tabs", "messages", "callbacks", "my-callbacks",
                      "failed-callbacks", "facts", "routing", "possible-match"];
  // live regions: their text changes, the node stays
  const LIVE_TEXT = ["queue-summary", "inbox-summary"];
  const lang = words.lang || document.documentElement.lang;
  const clock = new Intl.DateTimeFormat(LOCALES[lang] || "fi-FI", {
    day: "numeric", month: "numeric", year: "numeric", hour: "2-digit", minute: "2-digit",
    timeZone: "Europe/Helsinki",
  });

  function localTimes(root) {
    for (const el of root.querySelectorAll("time[datetime]:not([data-keep])")) {
      const at = new Date(el.dateTime);
      if (Number.isNaN(at.getTime())) continue;
      el.textContent = clock.format(at);
      el.title = at.toISOString();
    }
  }
  function setStatus(text, live) {
    if (!status || !text) return;
    status.textContent = text;
    status.classList.toggle("is-live", live);
  }

  // A part that comes again keeps what is being written in it: an element with the same
  // data-live-key stays as it is (a callback card with notes half typed).
  function keepEdited(old, fresh) {
    for (const el of fresh.querySelectorAll("[data-live-key]")) {
      const mine = old.querySelector(`[data-live-key="${CSS.escape(el.dataset.liveKey)}"]`);
      if (mine) el.replaceWith(mine);
    }
  }
  // Focus inside a swapped part goes to the same control in the new one (by id), or to
  // the part itself when that control is gone (a row someone else took).
  function focusKey(old) {
    const active = document.activeElement;
    if (!active || active === document.body || !old.contains(active)) return null;
    return active.id || "";
  }
  function refocus(fresh, key) {
    const again = key ? document.getElementById(key) : null;
    if (again && fresh.contains(again)) again.focus();
    else if (fresh.hasAttribute("tabindex")) fresh.focus();
  }
  const hasLiveParts = LIVE_PARTS.some((id) => document.getElementById(id));

  let pending = null;
  function refresh() {
    if (!hasLiveParts) return;
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
        const focus = focusKey(old);  // before keepEdited: moving an element blurs it
        keepEdited(old, fresh);
        old.replaceWith(document.adoptNode(fresh));
        if (focus !== null) refocus(fresh, focus);
        document.dispatchEvent(new CustomEvent("yhteys:swapped", { detail: fresh }));
      }
      for (const id of LIVE_TEXT) {
        const fresh = doc.getElementById(id), old = document.getElementById(id);
        if (fresh && old && old.textContent !== fresh.textContent) {
          old.textContent = fresh.textContent;
        }
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
    const TEXT = words.presence || {};
    const TYPING_SHOWN_MS = 5000;
    let state = el ? el.dataset.state : null, typingUntil = null;

    function show(next) {
      if (!el || state === "ended") return;
      if (next !== "typing") clearTimeout(typingUntil);
      if (next === state) return;  // an unchanged live region is not announced again
      state = next;
      el.dataset.state = next;
      if (TEXT[next]) el.textContent = TEXT[next];
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

  // --- screen pop: who is calling my desk phone --------------------------------------
  const callPop = (function () {
    const region = document.getElementById("call-pop");
    const wordsEl = document.getElementById("call-pop-words");
    const words = wordsEl ? JSON.parse(wordsEl.textContent) : {};
    const shown = new Map();  // call_id -> its notice

    function fill(template, values) {
      return template.replace(/\{(\w+)\}/g, (all, key) => (key in values ? values[key] : all));
    }
    function link(href, text) {
      const a = document.createElement("a");
      a.href = href;
      a.className = "call-pop__link";
      a.textContent = text;
      return a;
    }
    function remove(callId) {
      const notice = shown.get(callId);
      if (!notice) return;
      shown.delete(callId);
      notice.remove();
      region.classList.toggle("is-ringing", shown.size > 0);
    }
    function ringing(event) {
      if (!region || typeof event.call_id !== "string" || shown.has(event.call_id)) return;
      const phone = String(event.phone || "");
      const notice = document.createElement("div");
      notice.className = "call-pop__notice";
      notice.setAttribute("role", "alert");  // a new alert is read out at once
      notice.dataset.callId = event.call_id;
      const text = document.createElement("p");
      text.className = "call-pop__text";
      let action = null;
      if (event.known && event.other_area) {
        text.textContent = fill(words.other_area, { phone: phone });
      } else if (event.known) {
        const name = event.name || phone;
        text.textContent = event.case_id
          ? fill(words.known, { name: name, case: String(event.case_id) })
          : fill(words.known_no_case, { name: name });
        if (event.contact_id) action = link(`/contacts/${Number(event.contact_id)}`, words.open);
      } else {
        text.textContent = fill(words.unknown, { phone: phone });
        action = link("/calls/new?" + new URLSearchParams({ phone: phone, direction: "in" }),
                      words.log);
      }
      const icon = document.createElement("span");
      icon.className = "hds-icon hds-icon--phone";
      icon.setAttribute("aria-hidden", "true");
      const close = document.createElement("button");
      close.type = "button";
      close.className = "call-pop__close";
      close.setAttribute("aria-label", words.close);
      const cross = document.createElement("span");
      cross.className = "hds-icon hds-icon--cross";
      cross.setAttribute("aria-hidden", "true");
      close.append(cross);
      close.addEventListener("click", function () { remove(event.call_id); });
      notice.append(icon, text);
      if (action) notice.append(action);
      notice.append(close);
      shown.set(event.call_id, notice);
      region.append(notice);
      region.classList.add("is-ringing");
    }
    return {
      on(event) {
        if (event.type === "call.ringing") ringing(event);
        else if (event.type === "call.answered" || event.type === "call.ended") {
          remove(event.call_id);
        }
      },
    };
  })();

  // --- a follow-up of one's case falls due today (raised once, by the timer) -----------
  function followUpDue(event) {
    const region = document.getElementById("followup-notices");
    if (!region || !Number.isInteger(event.case_id)) return;
    const words = event.kind === "interim_evaluation" ? region.dataset.interim
                                                       : region.dataset.followUp;
    const notice = document.createElement("p");
    notice.className = "followup-notice";
    notice.textContent = words.replace("{case}", String(event.case_id)) + " ";
    const open = document.createElement("a");
    open.href = `/cases/${event.case_id}${words.lang_query || ""}`;
    open.textContent = region.dataset.open;
    notice.append(open);
    region.append(notice);
  }

  // "r" in the inbox opens a contact at #reply: the reply box has the focus.
  if (reply && window.location.hash === "#reply") reply.focus();

  // The inbox list asks for a whole re-read (after a lost connection, or when its counts
  // say something arrived while the page was being served).
  document.addEventListener("yhteys:refresh", refresh);

  localTimes(document);
  if (status && !status.textContent.trim()) setStatus(statusWords.connecting, false);
  const socket = io("/inbox", { transports: ["websocket"] });
  let connectedBefore = false;
  socket.on("connect", function () {
    setStatus(statusWords.live, true);
    // Catch up on what happened while we were away, and on the first connect on what
    // happened between the server rendering this page and the socket joining its rooms.
    // The inbox list checks its counts first and re-reads itself only when they changed.
    if (rowList) {
      document.dispatchEvent(new CustomEvent("yhteys:connected",
                                             { detail: { again: connectedBefore } }));
    } else {
      refresh();
    }
    connectedBefore = true;
    askPresence();
  });
  socket.on("disconnect", function () {
    setStatus(statusWords.lost, false);
    presence.unknown();
  });
  socket.on("connect_error", function () { setStatus(statusWords.offline, false); });
  socket.on("event", function (event) {
    if (!event || typeof event.type !== "string") return;
    if (event.type.startsWith("call.")) {
      callPop.on(event);
      return;
    }
    if (event.type.startsWith("callback.")) {
      if (document.getElementById("callbacks")) refresh();
      return;
    }
    if (event.type === "followup.due") {
      followUpDue(event);
      return;
    }
    if (contactEl && String(event.contact_id) !== contactEl.dataset.contactId) return;
    if (event.type === "chat.presence") {
      if (event.state === "online") presence.online(); else presence.gone();
      return;  // never a reload: presence and typing come often
    }
    if (event.type === "chat.typing") {
      presence.typing();
      return;
    }
    if (!event.type.startsWith("contact.") && !event.type.startsWith("message.")) return;
    if (rowList) {
      document.dispatchEvent(new CustomEvent("yhteys:contact-event", { detail: event }));
    } else {
      refresh();
    }
  });
})();
