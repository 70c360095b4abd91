// The desk's only script, loaded from /static so the Content-Security-Policy
// can forbid inline script. Pages work without it; it only saves typing.

// A <select data-fills="FIELD"> copies its choice into that field of its form
// (reply templates on the refund and return pages).
document.addEventListener("change", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !select.dataset.fills || !select.form) {
    return;
  }
  const field = select.form.elements.namedItem(select.dataset.fills);
  if (field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement) {
    field.value = select.value;
  }
});
