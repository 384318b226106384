// The contact page: a reply template goes into the reply box where the cursor is (replacing
// a selection), without reloading the page, so what was typed stays; a box never touched
// gets the template after its text, as the server does. If the template cannot be fetched,
// the button does what it does without this script: the server inserts it and shows the
// page again. Words come from the page (#contact-words).
(function () {
  "use strict";
  const button = document.getElementById("template-insert");
  const select = document.getElementById("reply-template");
  const box = document.getElementById("reply-text");
  const status = document.getElementById("template-status");
  const wordsEl = document.getElementById("contact-words");
  if (!button || !select || !box || !status || !wordsEl) return;
  const words = JSON.parse(wordsEl.textContent);
  let touched = false;  // has the counsellor been in the box (so it has a cursor)?
  box.addEventListener("focus", function () { touched = true; });

  function insert(text) {
    const value = box.value;
    let from = touched ? box.selectionStart : value.length;
    const to = touched ? box.selectionEnd : value.length;
    if (!touched && value.trim()) {
      text = "\n\n" + text;
      from = value.replace(/\s+$/, "").length;
    }
    box.focus();
    box.setRangeText(text, from, to, "end");
    box.dispatchEvent(new Event("input", { bubbles: true }));
    status.textContent = "";
    setTimeout(function () { status.textContent = words.inserted; }, 50);  // said again
  }

  button.addEventListener("click", async function (event) {
    if (!select.value) return;  // the server says at the field what is missing
    event.preventDefault();
    button.disabled = true;
    let filled = null;
    try {
      const response = await fetch(
        `/api/v1/contacts/${Number(button.dataset.contactId)}/templates/` +
        encodeURIComponent(select.value),
        { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) filled = await response.json();
    } catch (e) {
      filled = null;
    }
    button.disabled = false;
    if (filled && typeof filled.text === "string") insert(filled.text);
    else button.form.requestSubmit(button);
  });
})();
