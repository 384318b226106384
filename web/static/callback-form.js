// The callback form of /callback and of the chat's offline view (_callback_form.html): the
// call windows of the resident's area from GET /api/v1/callbacks/windows, one request to
// POST /api/v1/callbacks (a second click while it is on its way sends nothing), the server's
// own sentence on success, and each refusal's sentence at its field (by its `code`, from the
// catalog embedded in the page as #yhteys-i18n; never the server's English detail).
// window.YhteysCallback lets the chat fill the form in from its own pre-chat form.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const root = $("yh-cb");
  if (!root) return;
  const I18N = JSON.parse($("yhteys-i18n").textContent);
  const lang = root.dataset.lang;
  const MAX = Number(root.dataset.max);
  const POSTAL = /^[0-9]{5}$/;

  function t(key, params) {
    const text = I18N[key] !== undefined ? I18N[key] : I18N["error.unknown"];
    return text.replace(/\{(\w+)\}/g, (m, k) => (params && k in params ? String(params[k]) : m));
  }
  function known(key) { return I18N[key] !== undefined; }

  const form = $("yh-callback"), send = $("yh-cb-send"), nofixed = $("yh-cb-nofixed");
  const FIELDS = { phone: $("yh-cb-phone"), postal_code: $("yh-cb-postal"),
                   preferred_time: $("yh-cb-window"), language: $("yh-cb-language"),
                   topic: $("yh-cb-topic"), text: $("yh-cb-text") };
  const windowHelp = $("yh-cb-window-help");
  const counter = $("yh-cb-text-count");

  // --- errors: at the field (aria-describedby, aria-invalid) or under the form ---
  function fieldError(field, text) {
    const box = $(field.id + "-error");
    const group = field.tagName === "FIELDSET";
    const described = (field.getAttribute("aria-describedby") || "").split(" ")
      .filter((x) => x && x !== box.id);
    if (text) described.push(box.id);
    box.textContent = text || "";
    box.hidden = !text;
    if (described.length) field.setAttribute("aria-describedby", described.join(" "));
    else field.removeAttribute("aria-describedby");
    const invalid = group ? field.querySelectorAll("input") : [field];
    invalid.forEach((input) => {
      if (text) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    });
    if (group) field.classList.toggle("is-invalid", Boolean(text));
    else field.closest(".hds-text-input").classList.toggle("hds-text-input--invalid", Boolean(text));
  }
  function focusField(field) {
    const target = field.tagName === "FIELDSET" ? field.querySelector("input:checked, input") : field;
    target.focus();
  }
  function formError(text) {
    $("yh-cb-error-text").textContent = text || "";
    $("yh-cb-error").hidden = !text;
  }
  function clearErrors() {
    Object.values(FIELDS).forEach((field) => fieldError(field, ""));
    formError("");
  }
  function show(problems) {
    clearErrors();
    problems.forEach(([field, text]) => fieldError(field, text));
    if (problems.length) focusField(problems[0][0]);
  }

  // --- the call windows of the area: asked again whenever the area may have changed ---
  let windows = [], asked = 0, lastQuery = "";
  function chosenWindow() {
    const value = FIELDS.preferred_time.value;
    return value === "" ? null : windows[Number(value)] || null;
  }
  function showChosen() {
    const chosen = chosenWindow(), line = $("yh-cb-window-chosen");
    line.textContent = chosen ? t("callback.windows.chosen", { when: chosen.label }) : "";
    line.hidden = !chosen;
  }
  FIELDS.preferred_time.addEventListener("change", showChosen);
  function fillWindows(list) {
    const before = chosenWindow();
    const select = FIELDS.preferred_time;
    while (select.options.length > 1) select.remove(1);
    windows = list;
    list.forEach((w, i) => select.add(new Option(w.label, String(i))));
    const again = before && list.findIndex((w) => w.from === before.from && w.to === before.to);
    select.value = again !== null && again >= 0 ? String(again) : "";
    showChosen();
  }
  async function loadWindows() {
    const postal = FIELDS.postal_code.value.trim();
    const query = new URLSearchParams({ lang: lang });
    if (nofixed.checked) query.set("no_fixed_address", "1");
    else if (POSTAL.test(postal)) query.set("postal_code", postal);
    else {
      lastQuery = "";
      fillWindows([]);
      windowHelp.textContent = t("callback.windows.hint");
      return;
    }
    if (String(query) === lastQuery) return;
    lastQuery = String(query);
    const mine = ++asked;
    windowHelp.textContent = t("callback.windows.loading");
    let list = [], help = t("callback.windows.failed");
    try {
      const response = await fetch("/api/v1/callbacks/windows?" + query,
                                   { headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => ({}));
      if (mine !== asked) return;
      if (response.ok && Array.isArray(body.windows)) {
        list = body.windows.filter((w) => w && w.from && w.to && w.label);
        help = list.length ? t("callback.windows.ready") : t("callback.windows.none");
      } else if (body.code === "postal_code.invalid") {
        fieldError(FIELDS.postal_code, t("callback.error.postal_code.invalid"));
        help = t("callback.windows.hint");
        lastQuery = "";
      }
    } catch (e) {
      if (mine !== asked) return;
      lastQuery = "";
    }
    fillWindows(list);
    windowHelp.textContent = help;
  }
  FIELDS.postal_code.addEventListener("input", () => {
    const postal = FIELDS.postal_code.value.trim();
    if (!postal || POSTAL.test(postal)) {
      fieldError(FIELDS.postal_code, "");
      loadWindows();
    }
  });
  FIELDS.postal_code.addEventListener("change", () => {
    const postal = FIELDS.postal_code.value.trim();
    if (postal && !POSTAL.test(postal)) fieldError(FIELDS.postal_code, t("callback.error.postal_code.invalid"));
  });
  nofixed.addEventListener("change", () => {
    FIELDS.postal_code.disabled = nofixed.checked;
    $("yh-cb-nofixed-note").hidden = !nofixed.checked;
    if (nofixed.checked) fieldError(FIELDS.postal_code, "");
    loadWindows();
  });
  FIELDS.text.addEventListener("input", () => {
    const left = MAX - FIELDS.text.value.length;
    counter.textContent = left < 0 ? t("counter.over", { over: -left })
      : left <= MAX / 10 ? t("counter.left", { left: left }) : "";
    counter.classList.toggle("is-over", left < 0);
  });

  // --- sending: once ---
  function payload() {
    const language = form.querySelector("input[name=language]:checked");
    const body = { phone: FIELDS.phone.value.trim(), no_fixed_address: nofixed.checked,
                   postal_code: nofixed.checked ? null : FIELDS.postal_code.value.trim(),
                   language: language ? language.value : lang };
    if (FIELDS.topic.value) body.topic = Number(FIELDS.topic.value);
    const text = FIELDS.text.value.trim();
    if (text) body.text = text;
    const chosen = chosenWindow();
    if (chosen) body.preferred_time = { from: chosen.from, to: chosen.to };
    return body;
  }
  function check(body) {
    const problems = [];
    if (!body.phone) problems.push([FIELDS.phone, t("callback.error.phone.required")]);
    if (!body.no_fixed_address && !body.postal_code) {
      problems.push([FIELDS.postal_code, t("callback.error.postal_code.required")]);
    } else if (!body.no_fixed_address && !POSTAL.test(body.postal_code)) {
      problems.push([FIELDS.postal_code, t("callback.error.postal_code.invalid")]);
    }
    if (body.text && body.text.length > MAX) {
      problems.push([FIELDS.text, t("callback.error.text.too_long", { max: MAX })]);
    }
    return problems;
  }
  function refused(problem) {
    const code = typeof problem.code === "string" ? problem.code : "";
    const field = FIELDS[problem.field] || FIELDS[code.split(".")[0]];
    const key = "callback.error." + code;
    if (field) {
      const fallback = "callback.error." + (problem.field || code.split(".")[0]) + ".invalid";
      show([[field, t(known(key) ? key : known(fallback) ? fallback : "callback.failed", { max: MAX })]]);
      if (field === FIELDS.preferred_time) { lastQuery = ""; loadWindows(); }
    } else {
      clearErrors();
      formError(t(known(key) ? key : "callback.failed", { max: MAX }));
      send.focus();
    }
  }
  function done(answer, body) {
    form.hidden = true;
    $("yh-cb-done-text").textContent = typeof answer.message === "string" && answer.message
      ? answer.message : t("callback.done", { phone: body.phone });
    $("yh-cb-done").hidden = false;
    $("yh-cb-done").focus();
  }

  let sending = false;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (sending) return; // the second click of a double click, or Enter while it is on its way
    const body = payload();
    const problems = check(body);
    show(problems);
    if (problems.length) return;
    sending = true;
    send.setAttribute("aria-busy", "true");
    try {
      const response = await fetch("/api/v1/callbacks?" + new URLSearchParams({ lang: lang }), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "Accept-Language": lang },
        body: JSON.stringify(body) });
      const answer = await response.json().catch(() => ({}));
      if (response.status === 201) return done(answer, body);
      if (response.status === 429) { formError(t("callback.error.rate_limited")); return send.focus(); }
      refused(answer);
    } catch (err) {
      formError(t("callback.failed"));
      send.focus();
    } finally {
      sending = false;
      send.removeAttribute("aria-busy");
    }
  });

  // --- for the chat: carry what the resident already wrote into this form ---
  window.YhteysCallback = {
    prefill(values) {
      if (values.noFixedAddress && !nofixed.checked) {
        nofixed.checked = true;
        nofixed.dispatchEvent(new Event("change"));
      } else if (!FIELDS.postal_code.value && values.postal && POSTAL.test(values.postal)) {
        FIELDS.postal_code.value = values.postal;
        loadWindows();
      }
      if (!FIELDS.topic.value && values.topic) FIELDS.topic.value = values.topic;
      if (!FIELDS.text.value && values.text) FIELDS.text.value = values.text.slice(0, MAX);
    },
    focus() { FIELDS.phone.focus(); },
  };

  send.disabled = false; // the form can send now (without JavaScript the noscript says why not)
  if (nofixed.checked || FIELDS.postal_code.value) nofixed.dispatchEvent(new Event("change"));
})();
