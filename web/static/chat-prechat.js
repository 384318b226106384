// Before the chat: opening hours (never silent), the pre-chat form, the way to the callback
// form and the language switch. Words from the page's catalog through YhteysChat.t;
// chat-client.js (and callback-form.js) first.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const chat = window.YhteysChat;
  const t = chat.t;
  const LANG_KEY = "yhteys.lang";
  const POSTAL = /^[0-9]{5}$/;
  const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  // --- the language the resident chose in this tab wins over the host page's default ---
  document.querySelectorAll(".yh-langs a[data-lang]").forEach((a) => {
    a.addEventListener("click", () => { try { sessionStorage.setItem(LANG_KEY, a.dataset.lang); } catch (e) { /* */ } });
  });
  try {
    const chosen = sessionStorage.getItem(LANG_KEY);
    const link = chosen && chosen !== chat.lang && document.querySelector(`.yh-langs a[data-lang="${chosen}"]`);
    if (link) { location.replace(link.href); return; }
  } catch (e) { /* no storage: the page's language stays */ }

  // --- availability: asked when the frame opens and again for the postal code ---
  let open = true, asked = 0;
  async function availability(postal) {
    const mine = ++asked;
    const query = new URLSearchParams({ lang: chat.lang });
    if (postal) query.set("postal_code", postal);
    let text = t("availability.failed");
    try {
      const response = await fetch("/api/v1/chat/availability?" + query, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      const a = await response.json();
      open = Boolean(a.open);
      const at = chat.opensAt(a.opens_at);
      text = open ? (a.expected_wait_s != null ? t("availability.open_wait", { minutes: chat.minutes(a.expected_wait_s) })
                                                : t("availability.open"))
        : (at ? t("availability.closed", { when: at }) : t("availability.closed_unknown"));
    } catch (e) { open = true; }
    if (mine !== asked) return;
    $("yh-availability").textContent = text;
    $("yh-availability").classList.toggle("is-closed", !open);
    $("yh-closed-offer").hidden = open;
    $("yh-start-button").textContent = t(open ? "start.button" : "start.leave_message");
  }

  // --- the pre-chat form ---
  const form = $("yh-start"), postal = $("yh-postal"), nofixed = $("yh-nofixed");
  const FIELDS = { postal_code: postal, text: $("yh-first"), email: $("yh-email"), name: $("yh-name"),
                   topic: $("yh-topic") };
  const FIELD_OF_CODE = { postal_code_invalid: "postal_code", postal_code_required: "postal_code",
                          text_required: "text", text_too_long: "text", unstorable_text: "text",
                          email_invalid: "email", name_too_long: "name", topic_unknown: "topic" };
  postal.addEventListener("input", () => {
    if (POSTAL.test(postal.value.trim())) availability(postal.value.trim());
  });
  nofixed.addEventListener("change", () => {
    postal.disabled = nofixed.checked;
    $("yh-nofixed-note").hidden = !nofixed.checked;
    if (nofixed.checked) { chat.fieldError(postal, ""); availability(""); }
  });

  function check() {
    const problems = [];
    const value = FIELDS.text.value.trim(), code = postal.value.trim(), email = FIELDS.email.value.trim();
    if (!nofixed.checked && !code) problems.push([postal, t("field.postal_required")]);
    else if (!nofixed.checked && !POSTAL.test(code)) problems.push([postal, t("field.postal_invalid")]);
    if (email && !EMAIL.test(email)) problems.push([FIELDS.email, t("field.email_invalid")]);
    if (!value) problems.push([FIELDS.text, t("field.text_required")]);
    else if (value.length > chat.MAX) problems.push([FIELDS.text, t("field.text_too_long", { max: chat.MAX })]);
    return problems;
  }
  function showProblems(problems) {
    Object.values(FIELDS).forEach((input) => chat.fieldError(input, ""));
    problems.forEach(([input, text]) => chat.fieldError(input, text));
    if (problems.length) problems[0][0].focus();
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (chat.started()) return; // a second click while the first start is on its way
    const problems = check();
    showProblems(problems);
    chat.error("");
    if (problems.length) return;
    const payload = { language: chat.lang, text: FIELDS.text.value.trim() };
    if (nofixed.checked) payload.no_fixed_address = true; else payload.postal_code = postal.value.trim();
    if (FIELDS.topic.value) payload.topic = Number(FIELDS.topic.value);
    if (FIELDS.name.value.trim()) payload.name = FIELDS.name.value.trim();
    if (FIELDS.email.value.trim()) payload.email = FIELDS.email.value.trim();
    chat.start(payload);
  });
  chat.onRefused = (ack) => {
    chat.show("yh-prechat");
    const field = ack && FIELDS[FIELD_OF_CODE[ack.code]];
    const text = t("error." + (ack && t("error." + ack.code) !== t("error.unknown") ? ack.code : "unknown"), ack && ack.params);
    if (field) showProblems([[field, text]]); else { chat.error(text); $("yh-start-button").focus(); }
  };

  // --- the callback form, in the same frame: static/callback-form.js sends it (the same
  // form and request as /callback); this only carries over what the resident already wrote ---
  $("yh-to-callback").addEventListener("click", () => {
    const callback = window.YhteysCallback;
    if (callback) {
      callback.prefill({ postal: postal.value.trim(), noFixedAddress: nofixed.checked,
                         topic: FIELDS.topic.value, text: FIELDS.text.value.trim() });
    }
    chat.error("");
    chat.show("yh-callback-view");
    if (callback) callback.focus();
  });
  $("yh-to-prechat").addEventListener("click", () => { chat.show("yh-prechat"); $("yh-to-callback").focus(); });

  availability("");
})();
