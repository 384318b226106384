// Live inbox: the /inbox namespace says which contact changed; the page re-reads itself.
(function () {
  "use strict";
  const status = document.getElementById("live-status");
  const socket = io("/inbox", { transports: ["websocket"] });
  let pending = null;
  function refresh() {
    // Debounced: a burst of events costs one reload of the table.
    clearTimeout(pending);
    pending = setTimeout(async function () {
      const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const id of ["contacts", "messages", "contact"]) {
        const fresh = doc.getElementById(id), old = document.getElementById(id);
        if (fresh && old && id !== "contact") old.replaceWith(fresh);
      }
    }, 150);
  }
  socket.on("connect", function () { if (status) status.textContent = "Päivittyy reaaliajassa"; });
  socket.on("disconnect", function () { if (status) status.textContent = "Yhteys katkesi, yhdistetään…"; });
  socket.on("event", function (event) {
    const contact = document.getElementById("contact");
    if (contact && String(event.contact_id) !== contact.dataset.contactId) return;
    refresh();
  });
})();
