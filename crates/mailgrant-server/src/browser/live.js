// The home page's live message list (see live.rs). Every two seconds it
// asks GET /api/events?after=ID for the signed-in user's new events and
// puts each new message at the top of the list, like the rows the server
// writes, with a "New mail" notice. Event data only ever becomes text
// (textContent), never HTML.
"use strict";

(() => {
  const live = document.getElementById("live");
  if (!live) {
    return;
  }
  const INTERVAL_MS = 2000;
  const MAX_INTERVAL_MS = 60000;
  let after = live.dataset.after || "0";
  let delay = INTERVAL_MS;
  let arrived = 0;

  // Gmail's snippets carry HTML entities (`I&#39;m`); decoded here as text.
  const NAMED = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
  const unescape = (text) =>
    text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (entity, name) => {
      if (name[0] !== "#") {
        return NAMED[name.toLowerCase()] ?? entity;
      }
      const code = name[1] === "x" || name[1] === "X"
        ? parseInt(name.slice(2), 16)
        : parseInt(name.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    });

  const element = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  };

  // The message table, made when the page said "No messages match".
  const table = () => {
    let messages = document.getElementById("messages");
    if (!messages) {
      messages = element("table");
      messages.id = "messages";
      const empty = document.getElementById("empty");
      if (empty) {
        empty.replaceWith(messages);
      } else {
        live.after(messages);
      }
    }
    return messages.tBodies[0] || messages.appendChild(element("tbody"));
  };

  // A row as the server writes it; false when the page has it already or
  // the list does not show it (spam, trash).
  const show = (data) => {
    const id = typeof data.message_id === "string" ? data.message_id : "";
    const labels = Array.isArray(data.label_ids) ? data.label_ids : [];
    if (!id || labels.includes("SPAM") || labels.includes("TRASH")) {
      return false;
    }
    if ([...document.querySelectorAll("#messages tr")].some((tr) => tr.dataset.id === id)) {
      return false;
    }
    const rows = table();
    const row = element("tr", labels.includes("UNREAD") ? "unread" : "read");
    row.dataset.id = id;
    row.appendChild(element("td", "from", data.from || ""));
    const main = element("td");
    const subject = element("div", "subject");
    const link = element("a", "", data.subject || "(no subject)");
    link.href = "/messages/" + encodeURIComponent(id);
    subject.appendChild(link);
    main.appendChild(subject);
    main.appendChild(element("div", "snippet", unescape(data.snippet || "")));
    row.appendChild(main);
    row.appendChild(element("td", "date", data.date || ""));
    rows.insertBefore(row, rows.firstChild);
    return true;
  };

  const announce = (count) => {
    arrived += count;
    let notice = document.getElementById("new-mail");
    if (!notice) {
      notice = element("p", "notice");
      notice.id = "new-mail";
      live.appendChild(notice);
    }
    notice.textContent = arrived === 1
      ? "New mail: 1 message arrived."
      : `New mail: ${arrived} messages arrived.`;
  };

  const poll = async () => {
    try {
      const response = await fetch("/api/events?after=" + encodeURIComponent(after), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.status === 401) {
        return; // Signed out (here or in another tab): nothing more to show.
      }
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      const page = await response.json();
      let shown = 0;
      for (const event of page.events) {
        if (event.type === "message.added" && event.data && show(event.data)) {
          shown += 1;
        }
      }
      after = page.next_after;
      if (shown > 0) {
        announce(shown);
      }
      delay = INTERVAL_MS;
    } catch {
      // The server is away (a restart, the network): ask less often.
      delay = Math.min(delay * 2, MAX_INTERVAL_MS);
    }
    setTimeout(poll, delay);
  };

  setTimeout(poll, INTERVAL_MS);
})();
