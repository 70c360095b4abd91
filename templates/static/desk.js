// The desk's only script, loaded from /static so the Content-Security-Policy
// can forbid inline script. Pages work without it; it only saves typing.

// A <span class="countdown" data-due data-now data-words> (the ui.due macro) says the
// time left to a deadline; the server wrote it when the page was made, and this keeps
// it true every minute. "data-now" is the server's clock, so the browser's clock (or a
// test's travelled one) never disagrees with the page; the words come from the page
// in the reader's language. "data-day-end" is the store's next local midnight, so a
// deadline becomes "today" (the notice colour) when the store's day turns, not at reload.
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
      const due = Date.parse(span.dataset.due);
      const left = (due - now) / 1000;
      if (left < 0) {
        span.textContent = words.overdue.replace("{t}", duration(Math.floor(-left / 60), words));
        span.className = "countdown alert";
      } else {
        span.textContent = words.left.replace("{t}", duration(Math.ceil(left / 60), words));
        let dayEnd = Date.parse(span.dataset.dayEnd || "");
        while (dayEnd && dayEnd <= now) {
          dayEnd += 86400000; // the next local midnight (a day-saving shift is an hour off)
        }
        if (left < 2 * 3600) {
          span.className = "countdown warn";
        } else if (dayEnd && due < dayEnd) {
          span.className = "countdown notice";
        }
      }
    }
  }

  window.tickCountdowns = tickCountdowns;
  setInterval(tickCountdowns, 60 * 1000);
}

// Quick replies (the phrase picker, templates/_phrases.html). A button
// [data-phrase-insert] carries its reply already filled in from the case; a click puts
// it into the form's field named by the picker's data-phrases-for (at the cursor, or in
// place of an empty box), remembers its id in the form's phrase_id so the desk counts
// the use when the form goes through, and shows the reply's warning (it contradicts the
// case) beside the box before anything is sent. Alt+P opens or closes the picker of the
// form being typed in; Alt+1 to Alt+9 insert its first nine replies.
if (!window.phrasePicker) {
  window.phrasePicker = true;

  function pickerOf(element) {
    const form = element && element.closest ? element.closest("form") : null;
    return (form || document).querySelector("details.phrases");
  }

  function insert(button) {
    const picker = button.closest("details.phrases");
    const form = button.closest("form");
    if (!picker || !form) {
      return;
    }
    const field = form.elements.namedItem(picker.dataset.phrasesFor);
    if (!(field instanceof HTMLTextAreaElement || field instanceof HTMLInputElement)) {
      return;
    }
    const text = button.dataset.text || "";
    if (!field.value.trim()) {
      field.value = text;
    } else {
      const start = field.selectionStart ?? field.value.length;
      const end = field.selectionEnd ?? start;
      field.value = field.value.slice(0, start) + text + field.value.slice(end);
    }
    const used = form.elements.namedItem("phrase_id");
    if (used instanceof HTMLInputElement) {
      used.value = button.dataset.phraseInsert;
    }
    const alert = form.querySelector(".phrase-alert");
    if (alert) {
      alert.textContent = button.dataset.warning ? "⚠ " + button.dataset.warning : "";
      alert.hidden = !button.dataset.warning;
    }
    picker.open = false;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  }

  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-phrase-insert]") : null;
    if (button) {
      event.preventDefault();
      insert(button);
    }
  });

  document.addEventListener("keydown", (event) => {
    if (!event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    const picker = pickerOf(document.activeElement);
    if (!picker) {
      return;
    }
    if (event.code === "KeyP") {
      event.preventDefault();
      picker.open = !picker.open;
      const first = picker.querySelector("[data-phrase-insert]");
      if (picker.open && first) {
        first.focus();
      }
      return;
    }
    const digit = /^Digit([1-9])$/.exec(event.code);
    if (digit) {
      const button = picker.querySelectorAll("[data-phrase-insert]")[Number(digit[1]) - 1];
      if (button) {
        event.preventDefault();
        insert(button);
      }
    }
  });
}
