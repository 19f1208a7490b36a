// The desk's only script: keyboard shortcuts and auto-submitting pickers. Pages work without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    const target = document.querySelector(`[data-key="${event.key}"]`);
    if (!target) return;
    event.preventDefault();
    if (target.tagName === "A") target.click();
    else target.focus();
  });
});
// A page restored from the back/forward cache shows forms for a state that has moved on
// (a message approved since): load it afresh instead of letting it be sent again.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});
