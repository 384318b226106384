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

  // A template is a paragraph of its own: a blank line parts it from text right beside it.
  // A box never entered gets it after its text, as the server does; else at the cursor.
  function insert(text) {
    const value = box.value;
    const from = touched ? box.selectionStart : value.replace(/\s+$/, "").length;
    const to = touched ? box.selectionEnd : value.length;
    if (/\S$/.test(value.slice(0, from))) text = "\n\n" + text;
    if (/^\S/.test(value.slice(to))) text += "\n\n";
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
