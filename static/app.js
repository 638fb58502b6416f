// Switchboard's little JavaScript: progressive enhancement only. Every
// page works without it.
//
// Confirmations: a link marked data-confirm leads to a confirmation page
// (GET at the address of the action's POST). With JavaScript the same page
// is fetched and its [data-confirm-body] shown in a modal <dialog>; its
// form posts as it would from the page, so the POST and its redirect are
// the same with and without JavaScript. Anything unexpected (an error
// page, a network failure, no <dialog> support) falls back to opening the
// confirmation page itself.
(function () {
  "use strict";

  if (typeof HTMLDialogElement !== "function") {
    return;
  }

  var busy = false;

  function openPage(href) {
    window.location.assign(href);
  }

  function show(link, body) {
    var dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    var content = document.importNode(body, true);
    content.removeAttribute("data-confirm-body");
    content.classList.remove("narrow");
    // The page's h1 is the dialog's title: one h1 per page stays true.
    var h1 = content.querySelector("h1");
    if (h1) {
      var title = document.createElement("h2");
      title.id = "confirm-dialog-title";
      title.textContent = h1.textContent;
      h1.replaceWith(title);
      dialog.setAttribute("aria-labelledby", title.id);
    }
    dialog.appendChild(content);
    var cancel = content.querySelector("[data-confirm-cancel]");
    if (cancel) {
      cancel.addEventListener("click", function (event) {
        event.preventDefault();
        dialog.close();
      });
    }
    dialog.addEventListener("close", function () {
      dialog.remove();
      link.focus();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    if (cancel) {
      cancel.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[data-confirm]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    var url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin) {
      return;
    }
    event.preventDefault();
    if (busy) {
      return;
    }
    busy = true;
    fetch(url.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (!res.ok || new URL(res.url).pathname !== url.pathname) {
          throw new Error("not a confirmation page");
        }
        return res.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var body = page.querySelector("[data-confirm-body]");
        if (!body) {
          throw new Error("not a confirmation page");
        }
        show(link, body);
      })
      .catch(function () {
        openPage(url.href);
      })
      .finally(function () {
        busy = false;
      });
  });
})();

// Send SMS and campaigns: the preview panel (encoding, characters, parts, recipients,
// price, the text as it leaves) follows the form as the person types. The
// form is posted, with its CSRF field, to the address in
// data-send-preview, which answers the panel alone; it replaces the one
// on the page. Without JavaScript the Preview button shows the same.
(function () {
  "use strict";

  var form = document.querySelector("form[data-send-preview]");
  if (!form || typeof fetch !== "function" || typeof URLSearchParams !== "function") {
    return;
  }
  var url = form.getAttribute("data-send-preview");
  var timer = null;
  var inFlight = null;
  var sent = "";

  function refresh() {
    timer = null;
    var body = new URLSearchParams(new FormData(form)).toString();
    if (body === sent) {
      return;
    }
    sent = body;
    if (inFlight && typeof inFlight.abort === "function") {
      inFlight.abort();
    }
    inFlight = typeof AbortController === "function" ? new AbortController() : null;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "text/html" },
      body: body,
      signal: inFlight ? inFlight.signal : undefined
    })
      .then(function (res) {
        if (!res.ok) {
          throw new Error("no preview");
        }
        return res.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("send-preview");
        var panel = document.getElementById("send-preview");
        if (fresh && panel) {
          panel.replaceWith(document.importNode(fresh, true));
        }
      })
      .catch(function () {
        // The counts stay as they were; Preview still works.
        sent = "";
      });
  }

  function later() {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(refresh, 300);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  // The campaign form shares this preview; it has Groups instead of To.
  if ((form.elements.to && form.elements.to.value) || form.elements.message.value) {
    refresh();
  }
})();

// Contact import progress: while an import waits or runs, its page
// ([data-import-progress], the address of its progress as JSON) asks for
// the numbers every second and writes them in; once the import is done
// the page is loaded again for its summary. Without JavaScript (or when
// the poll fails) the page's Refresh link does the same.
(function () {
  "use strict";

  var panel = document.querySelector("[data-import-progress]");
  if (!panel || typeof fetch !== "function") {
    return;
  }
  var url = panel.getAttribute("data-import-progress");

  function grouped(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function show(name, text) {
    var el = panel.querySelector('[data-import="' + name + '"]');
    if (el && el.textContent !== text) {
      el.textContent = text;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        if (!res.ok) {
          throw new Error("no progress");
        }
        return res.json();
      })
      .then(function (p) {
        show("status", p.label);
        ["rows", "processed", "added", "updated", "skipped"].forEach(function (name) {
          show(name, grouped(p[name]));
        });
        if (p.done) {
          window.location.reload();
          return;
        }
        setTimeout(poll, 1000);
      })
      .catch(function () {
        // The Refresh link still works; try again a little later.
        setTimeout(poll, 5000);
      });
  }

  setTimeout(poll, 1000);
})();

// Copy buttons (a new API key, the signing secret): the value stands in a
// readonly field anyone can select and copy without JavaScript; with it,
// the field's Copy button (button[data-copy], the field's id; hidden in
// the page) appears where the clipboard can be written, copies the value
// and says so in the field's [data-copy-status]. The field selects its
// whole value when focused, so that a copy by hand takes it all.
(function () {
  "use strict";

  var canCopy = window.isSecureContext && navigator.clipboard && typeof navigator.clipboard.writeText === "function";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    var around = button.closest(".field");
    var status = around ? around.querySelector("[data-copy-status]") : null;
    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }
    field.addEventListener("focus", function () {
      field.select();
    });
    if (!canCopy) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        say("Copied");
      }, function () {
        field.focus();
        field.select();
        say("The browser did not let the page copy: the value is selected, press Ctrl+C (⌘C on a Mac) to copy it.");
      });
    });
  });
})();
