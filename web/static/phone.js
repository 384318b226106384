// The phone pages (/callbacks, /calls/new): a form marked data-once is sent once however
// often it is clicked; waiting times keep counting; "log a call" searches residents
// (GET /api/v1/residents?q=) to link the call to. Every word comes from the page.
(function () {
  "use strict";

  // --- send once ------------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !("once" in form.dataset)) return;
    if (form.dataset.sending) {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    form.setAttribute("aria-busy", "true");
    // After this turn: a button disabled now would leave its name=value out of the post.
    setTimeout(function () {
      for (const button of form.querySelectorAll("button[type=submit], button:not([type])")) {
        button.disabled = true;
      }
    }, 0);
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;  // back to a page kept in memory: its forms work again
    for (const form of document.querySelectorAll("form[data-sending]")) {
      delete form.dataset.sending;
      form.removeAttribute("aria-busy");
      for (const button of form.querySelectorAll("button")) button.disabled = false;
    }
  });

  // --- waiting times ----------------------------------------------------------------------
  const page = document.getElementById("callback-page");
  if (page) {
    const seen = new WeakMap();
    const fmt = page.dataset;
    const say = (template, values) =>
      template.replace(/%\((\w+)\)s/g, (all, key) => (key in values ? values[key] : all));
    const tick = function () {
      const now = Date.now();
      for (const el of document.querySelectorAll("[data-waiting-s]")) {
        if (!seen.has(el)) seen.set(el, now);
        const total = Number(el.dataset.waitingS) + Math.floor((now - seen.get(el)) / 1000);
        const minutes = Math.floor(Math.max(0, total) / 60);
        const d = Math.floor(minutes / 1440), h = Math.floor(minutes % 1440 / 60), m = minutes % 60;
        const text = d ? say(fmt.fmtD, { d: d, h: h })
          : h && m ? say(fmt.fmtHm, { h: h, m: m })
          : h ? say(fmt.fmtH, { h: h }) : say(fmt.fmtM, { m: m });
        if (el.textContent !== text) el.textContent = text;
      }
    };
    tick();
    setInterval(tick, 30000);
    document.addEventListener("yhteys:swapped", tick);
  }

  // --- log a call: find the resident ------------------------------------------------------
  const search = document.getElementById("resident-search");
  if (search) {
    const words = search.dataset;
    const input = document.getElementById("resident-q");
    const button = document.getElementById("resident-search-button");
    const statusEl = document.getElementById("resident-status");
    const results = document.getElementById("resident-results");
    const label = document.getElementById("resident-label");
    const csrf = document.body.dataset.csrf || "";
    search.hidden = false;
    let asked = 0;

    const describe = function (r) {
      const parts = [r.name || words.noName];
      if (r.phones && r.phones.length) parts.push(r.phones.join(", "));
      if (r.postal_code) parts.push(r.postal_code);
      if (r.case_id) parts.push(words.case.replace("%(id)s", String(r.case_id)));
      return parts.join(" · ");
    };
    const option = function (value, text, checked) {
      const li = document.createElement("li");
      const lab = document.createElement("label");
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "resident_id";
      radio.value = value;
      radio.checked = checked;
      radio.dataset.label = text;
      lab.append(radio, " " + text);
      li.append(lab);
      return li;
    };
    const show = function (items) {
      const chosen = results.querySelector("input:checked");
      const keep = chosen && chosen.value ? chosen.value : "";
      for (const li of Array.from(results.children).slice(1)) {
        const radio = li.querySelector("input");
        if (!radio || radio.value !== keep) li.remove();  // the chosen one stays
      }
      for (const r of items) {
        if (String(r.id) === keep) continue;
        results.append(option(String(r.id), describe(r), false));
      }
    };
    const run = async function () {
      const q = input.value.trim();
      if (q.length < 2) {
        statusEl.textContent = words.tooShort;
        return;
      }
      const mine = ++asked;
      statusEl.textContent = words.searching;
      try {
        const response = await fetch("/api/v1/residents?" + new URLSearchParams({ q: q }), {
          credentials: "same-origin", headers: { Accept: "application/json", "X-CSRF-Token": csrf } });
        if (!response.ok) throw new Error(String(response.status));
        const items = (await response.json()).items || [];
        if (mine !== asked) return;  // a newer search answers instead
        show(items);
        statusEl.textContent = items.length
          ? words.found.replace("%(num)s", String(items.length)) : words.foundNone;
      } catch (e) {
        if (mine === asked) statusEl.textContent = words.failed;
      }
    };
    button.addEventListener("click", run);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {  // search, do not send the call form
        event.preventDefault();
        run();
      }
    });
    results.addEventListener("change", function (event) {
      const radio = event.target;
      if (radio instanceof HTMLInputElement && radio.checked) {
        label.value = radio.value ? (radio.dataset.label || radio.parentElement.textContent.trim()) : "";
      }
    });
  }
})();
