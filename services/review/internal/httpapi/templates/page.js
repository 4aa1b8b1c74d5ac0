// The reviewer page works without this script (plain forms, server-side
// checks); the script adds what a form cannot: checking a rejection has a
// reason before the text could be lost, noticing items decided or claimed
// in another tab, measured image sizes and keyboard shortcuts.
"use strict";
(function () {
  var items = Array.prototype.slice.call(document.querySelectorAll("section.item"));

  // A rejection without a reason is stopped here, with the text kept; the
  // server refuses it too, for clients without this script.
  items.forEach(function (item) {
    var form = item.querySelector("form.decide");
    if (!form) return;
    form.addEventListener("submit", function (ev) {
      var btn = ev.submitter;
      var reason = form.querySelector("textarea");
      var picked = form.querySelector("select[name=policy_reason]");
      var msg = form.querySelector(".client-error");
      if (btn && btn.value === "reject" && reason.value.trim() === "" && !(picked && picked.value)) {
        ev.preventDefault();
        msg.textContent = "A rejection needs a policy reason or a written reason; the buyer sees it.";
        msg.hidden = false;
        reason.focus();
      }
    });
  });

  // Declared versus measured image size.
  Array.prototype.forEach.call(document.querySelectorAll("img[data-declared]"), function (img) {
    function show() {
      var li = img.closest("li");
      var out = li && li.querySelector(".measured");
      if (!out || !img.naturalWidth) return;
      var measured = img.naturalWidth + "×" + img.naturalHeight;
      out.textContent = "measured " + measured;
      if (img.dataset.declared && img.dataset.declared !== measured) {
        out.textContent += " (differs from declared)";
        out.classList.add("formerror");
      }
    }
    if (img.complete) show(); else img.addEventListener("load", show);
  });

  // Stale-tab awareness: ask which items are still open and lock the ones
  // that are not, before a reviewer spends time on them.
  function lock(item, text) {
    var banner = item.querySelector(".stale-banner");
    banner.textContent = text;
    banner.className = "stale-banner card stale";
    banner.hidden = false;
    Array.prototype.forEach.call(item.querySelectorAll("button"), function (b) { b.disabled = true; });
  }
  function poll() {
    if (!items.length || document.hidden) return;
    var q = items.map(function (it) { return "key=" + encodeURIComponent(it.dataset.key); }).join("&");
    fetch("/reviews/state?" + q, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) return;
        items.forEach(function (it) {
          var st = body.items[it.dataset.key];
          if (!st) return;
          if (st.state === "superseded") lock(it, "A newer revision replaced this one; reload the queue.");
          else if (st.state !== "pending_human") lock(it, "Already " + st.state + (st.reviewer ? " by " + st.reviewer : "") + " in the meantime; reload the queue.");
          else if (st.claimed_by) lock(it, "Claimed by " + st.claimed_by + " in the meantime.");
        });
      })
      .catch(function () {});
  }
  var every = Number(document.body.dataset.pollMs || 5000);
  setInterval(poll, every);
  document.addEventListener("visibilitychange", poll);

  // Keyboard: j/k move between items, c claims, a approves, r rejects.
  var current = 0;
  function focusItem(i) {
    if (!items.length) return;
    current = Math.max(0, Math.min(items.length - 1, i));
    items[current].scrollIntoView({block: "start"});
    items[current].setAttribute("tabindex", "-1");
    items[current].focus();
  }
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || (t && /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var item = items[current];
    switch (ev.key) {
      case "j": focusItem(current + 1); break;
      case "k": focusItem(current - 1); break;
      case "c": if (item && item.querySelector(".claim-btn")) item.querySelector(".claim-btn").click(); break;
      case "a": if (item) item.querySelector("button.approve").click(); break;
      case "r":
        if (!item) break;
        var reason = item.querySelector("textarea");
        var sel = item.querySelector("select[name=policy_reason]");
        if (reason.value.trim() === "" && !(sel && sel.value)) { ev.preventDefault(); (sel || reason).focus(); } else item.querySelector("button.reject").click();
        break;
      default: return;
    }
  });
})();
