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

// A <span class="countdown" data-due data-now data-words> (the ui.due macro) says the
// time left to a deadline; the server wrote it when the page was made, and this keeps
// it true every minute. "data-now" is the server's clock, so the browser's clock (or a
// test's travelled one) never disagrees with the page; the words come from the page
// in the reader's language. The "today" colour needs the store's zone and stays as rendered.
// A page that loads this script twice still ticks once.
if (!window.tickCountdowns) {
  const loadedAt = Date.now();

  function duration(minutes, words) {
    const days = Math.floor(minutes / 1440);
    const hours = Math.floor((minutes % 1440) / 60);
    const mins = minutes % 60;
    const fill = (text) => text.replace("{d}", days).replace("{h}", hours).replace("{m}", mins);
    if (days) {
      return fill(hours ? words.dh : words.d);
    }
    if (hours) {
      return fill(mins ? words.hm : words.h);
    }
    return fill(words.m);
  }

  function tickCountdowns() {
    for (const span of document.querySelectorAll(".countdown[data-due][data-now][data-words]")) {
      const words = JSON.parse(span.dataset.words);
      const now = Date.parse(span.dataset.now) + (Date.now() - loadedAt);
      const left = (Date.parse(span.dataset.due) - now) / 1000;
      if (left < 0) {
        span.textContent = words.overdue.replace("{t}", duration(Math.floor(-left / 60), words));
        span.className = "countdown alert";
      } else {
        span.textContent = words.left.replace("{t}", duration(Math.ceil(left / 60), words));
        if (left < 2 * 3600) {
          span.className = "countdown warn";
        }
      }
    }
  }

  window.tickCountdowns = tickCountdowns;
  setInterval(tickCountdowns, 60 * 1000);
}
