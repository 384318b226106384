// Live counsellor pages: the /inbox namespace says which contact changed; the page re-reads
// itself and swaps the parts that can change. Times are shown in Helsinki time.
(function () {
  "use strict";
  const status = document.getElementById("live-status");
  const LIVE_PARTS = ["contacts", "messages", "callbacks"];
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
    }, 150);
  }

  localTimes(document);
  const socket = io("/inbox", { transports: ["websocket"] });
  let connectedBefore = false;
  socket.on("connect", function () {
    setStatus("Päivittyy reaaliajassa", true);
    if (connectedBefore) refresh();  // catch up on what happened while we were away
    connectedBefore = true;
  });
  socket.on("disconnect", function () { setStatus("Yhteys katkesi, yhdistetään…", false); });
  socket.on("connect_error", function () { setStatus("Ei yhteyttä, yritetään uudelleen…", false); });
  socket.on("event", function (event) {
    const contact = document.getElementById("contact");
    if (contact && String(event.contact_id) !== contact.dataset.contactId) return;
    refresh();
  });
})();
