// The console's pages in plain JavaScript: each fills its <main> from /console/api/… (see
// console-pages.ts for the shells and console-routes.ts for the API). No framework, no build.
"use strict";

const pageData = JSON.parse(document.getElementById("page-data")?.textContent ?? "{}");
const $ = (selector) => document.querySelector(selector);

/** An element with attributes (on* are listeners) and children (strings become text, never HTML). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  return node;
}

async function api(path, init = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...init });
  const body = await response.json().catch(() => ({ message: `HTTP ${response.status}` }));
  return { status: response.status, body };
}

const post = (path, body) => api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

function fillSelect(select, values, chosen) {
  select.replaceChildren(...values.map((value) => el("option", { value, selected: value === chosen }, value)));
}

const shortJson = (value, length = 160) => {
  const text = JSON.stringify(value) ?? "";
  return text.length > length ? `${text.slice(0, length)}…` : text;
};
const timeOf = (iso) => (typeof iso === "string" && iso.length > 11 ? iso.slice(11, 23) : String(iso ?? "-"));
/** A record's value without what other columns show (its meta, fields holding its key): what it says. */
const body = (record) => {
  if (record.value === null || typeof record.value !== "object" || Array.isArray(record.value)) return record.value ?? record.error;
  return Object.fromEntries(Object.entries(record.value).filter(([name, value]) => name !== "meta" && value !== record.key));
};
const place = (record) => `${record.topic}/${record.partition}@${record.offset}`;
const shortName = (record) => (record.record ?? "undecodable").split(".").pop();

/** Asks the operator in the page's dialog; resolves true on Confirm. */
function confirmInDialog(prompt) {
  const dialog = $("#confirm");
  $("#confirm-prompt").textContent = prompt;
  return new Promise((resolve) => {
    const done = (answer) => {
      $("#confirm-yes").onclick = null;
      $("#confirm-no").onclick = null;
      dialog.close();
      resolve(answer);
    };
    $("#confirm-yes").onclick = () => done(true);
    $("#confirm-no").onclick = () => done(false);
    dialog.showModal();
  });
}

/** A write the server confirms in two steps: the first POST answers 409 with a prompt and a token, the second posts the token back. */
async function confirmedAction(path, status) {
  let { status: code, body } = await post(path, {});
  if (code === 409 && body.confirmation) {
    if (!(await confirmInDialog(body.message))) {
      status.textContent = "Cancelled: nothing was done.";
      return false;
    }
    status.textContent = "Working…";
    ({ status: code, body } = await post(path, { confirmation: body.confirmation }));
  }
  status.textContent = code === 200 ? body.done : `Refused: ${body.message}`;
  status.className = code === 200 ? "status done" : "status refused";
  return code === 200;
}

const pages = {
  overview() {
    const previous = new Map();
    const number = (value, digits = 0) => (Number.isFinite(value) ? value.toLocaleString("en", { maximumFractionDigits: digits }) : "-");
    const ms = (seconds) => number(seconds * 1000, 1);
    async function refresh() {
      const { status, body } = await api("/console/api/overview");
      if (status !== 200) return void $("#overview").replaceChildren(el("p", { class: "refused" }, body.message));
      const rate = (key, total) => {
        const before = previous.get(key);
        previous.set(key, { total, at: body.at });
        return before === undefined || body.at === before.at ? "-" : number(((total - before.total) * 1000) / (body.at - before.at), 2);
      };
      const sum = (metric) => body.sections.find((section) => section.metric === metric)?.rows.reduce((total, row) => total + (row.value ?? row.count ?? 0), 0);
      const cards = [
        ["open sockets", number(sum("websocket_connections_total"))],
        ["online users", number(sum("presence_online_users"))],
        ["commands/s", rate("cards:commands", sum("quikchat_commands_total") ?? 0)],
        ["dead letters", number(sum("quikchat_dlq_records_total") ?? 0)],
      ];
      const sections = body.sections.map((section) => {
        const head = [...section.by, ...(section.kind === "histogram" ? ["count", "per s", "mean ms", "p50 ≤ ms", "p99 ≤ ms"] : section.kind === "counter" ? ["total", "per s"] : ["value"])];
        const rows = section.rows.map((row) => {
          const key = `${section.metric}|${JSON.stringify(row.labels)}`;
          const cells =
            section.kind === "histogram"
              ? [number(row.count), rate(key, row.count), ms(row.sum / row.count), ms(row.p50), ms(row.p99)]
              : section.kind === "counter"
                ? [number(row.value), rate(key, row.value)]
                : [number(row.value)];
          return el("tr", {}, ...section.by.map((label) => el("td", {}, row.labels[label])), ...cells.map((cell) => el("td", { class: "number" }, cell)));
        });
        return el("section", { class: "metric" }, el("h2", {}, section.title, " ", el("code", {}, section.metric)), el("table", { class: "records" }, el("thead", {}, el("tr", {}, ...head.map((name) => el("th", {}, name)))), el("tbody", {}, rows.length > 0 ? rows : el("tr", {}, el("td", { colspan: head.length }, "nothing yet")))));
      });
      $("#overview").replaceChildren(el("div", { class: "cards" }, ...cards.map(([label, value]) => el("div", { class: "card" }, el("span", { class: "value" }, value), el("span", {}, label)))), ...sections);
    }
    void refresh();
    setInterval(() => void refresh(), 2_000);
  },

  events() {
    const form = $("#tail");
    const status = $("#tail-status");
    const rows = $("#events tbody");
    fillSelect(form.target, [...pageData.contexts, ...pageData.topics], "messages");
    let source;
    const stop = (message) => {
      source?.close();
      source = undefined;
      $("#tail-stop").disabled = true;
      if (message) status.textContent = message;
    };
    $("#tail-stop").onclick = () => stop("Stopped.");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      stop();
      rows.replaceChildren();
      const query = new URLSearchParams([...new FormData(form)].filter(([, value]) => value !== ""));
      status.textContent = "Connecting…";
      status.className = "status";
      source = new EventSource(`/console/api/events?${query}`);
      $("#tail-stop").disabled = false;
      source.addEventListener("ready", (message) => {
        status.textContent = `Listening on ${JSON.parse(message.data).topic}`;
        status.className = "status live";
      });
      source.addEventListener("record", (message) => {
        const record = JSON.parse(message.data);
        const timeline = pageData.aggregateContexts.includes(record.context) && record.key !== null;
        const key = timeline ? el("a", { href: `/console/aggregates?${new URLSearchParams({ context: record.context, id: record.key })}`, title: "this aggregate's timeline" }, record.key) : String(record.key);
        rows.prepend(el("tr", {}, el("td", {}, timeOf(record.timestamp)), el("td", {}, place(record)), el("td", {}, key), el("td", {}, shortName(record)), el("td", { class: "id" }, record.correlationId ?? ""), el("td", { class: "value", title: JSON.stringify(record.value ?? record.error) }, shortJson(body(record), 400))));
        while (rows.children.length > 500) rows.lastChild.remove();
      });
      source.addEventListener("failure", (message) => stop(`Stopped: ${JSON.parse(message.data).message}`));
      source.onerror = () => stop("Disconnected (bad filters are answered with an error: check them).");
    });
  },

  aggregates() {
    const form = $("#aggregate");
    const params = new URLSearchParams(location.search);
    fillSelect(form.context, pageData.aggregateContexts, params.get("context") ?? pageData.aggregateContexts[0]);
    form.id.value = params.get("id") ?? "";
    const status = $("#aggregate-status");
    async function show(at) {
      const path = `/console/api/aggregates/${encodeURIComponent(form.context.value)}/${encodeURIComponent(form.id.value)}`;
      const { status: code, body } = await api(at === undefined ? path : `${path}?${new URLSearchParams({ topic: at.topic, offset: String(at.offset) })}`);
      if (code !== 200) {
        status.textContent = `Refused: ${body.message}`;
        return undefined;
      }
      return body;
    }
    async function load() {
      history.replaceState(null, "", `?${new URLSearchParams({ context: form.context.value, id: form.id.value })}`);
      const view = await show();
      if (view === undefined) return;
      status.textContent = `${view.context} ${view.id}: ${view.events.length} event(s) on partition ${view.partition} of ${view.topics.join(", ")}`;
      const showState = (title, state) => {
        $("#state-title").textContent = title;
        $("#state").textContent = JSON.stringify(state, null, 2);
      };
      showState(`State now, after ${view.events.length} event(s)`, view.state);
      $("#timeline tbody").replaceChildren(
        ...view.events.map((record, index) => {
          const row = el("tr", {}, el("td", { class: "number" }, index + 1), el("td", {}, timeOf(record.timestamp)), el("td", {}, place(record)), el("td", { title: JSON.stringify(record.value) }, shortName(record)), el("td", { class: "id" }, record.correlationId ?? ""));
          row.append(el("td", {}, el("button", {
            type: "button",
            onclick: async () => {
              const then = await show({ topic: record.topic, offset: record.offset });
              if (then === undefined) return;
              for (const other of row.parentElement.children) other.classList.remove("chosen");
              row.classList.add("chosen");
              showState(`State at event #${index + 1} (${shortName(record)}, ${place(record)})`, then.state);
            },
          }, "State here")));
          return row;
        }),
      );
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void load();
    });
    if (form.id.value !== "") void load();
  },

  projections() {
    const status = $("#projections-status");
    async function load() {
      const { status: code, body } = await api("/console/api/projections");
      if (code !== 200) return void (status.textContent = `Refused: ${body.message}`);
      status.textContent = "";
      $("#projections tbody").replaceChildren(
        ...body.projections.flatMap(({ projection, partitions, missingTopic }) => {
          const rebuild = el("button", { type: "button", onclick: async () => (await confirmedAction(`/console/api/projections/${encodeURIComponent(projection)}/rebuild`, status)) && load() }, "Rebuild…");
          if (missingTopic !== undefined) return [el("tr", {}, el("td", {}, projection), el("td", {}, `${missingTopic} (no such topic)`), el("td", { colspan: 4 }, "-"), el("td", {}))];
          return partitions.map((p, index) => el("tr", {}, el("td", {}, projection), el("td", {}, p.topic), ...[p.partition, p.checkpoint ?? "-", p.highWatermark, p.lag].map((cell) => el("td", { class: "number" }, cell)), el("td", {}, index === 0 ? rebuild : "")));
        }),
      );
      $("#groups tbody").replaceChildren(...body.groups.map((row) => el("tr", {}, el("td", {}, row.group), el("td", {}, row.state), ...[row.members].map((cell) => el("td", { class: "number" }, cell)), el("td", {}, row.topic), ...[row.partition, row.committed ?? "-", row.highWatermark, row.lag].map((cell) => el("td", { class: "number" }, cell)))));
    }
    void load();
  },

  "dead-letters"() {
    const form = $("#dlq");
    const params = new URLSearchParams(location.search);
    fillSelect(form.context, pageData.dlqContexts, params.get("context") ?? (pageData.dlqContexts.includes("messages") ? "messages" : pageData.dlqContexts[0]));
    const status = $("#dlq-status");
    async function load() {
      history.replaceState(null, "", `?${new URLSearchParams({ context: form.context.value })}`);
      const context = form.context.value;
      const { status: code, body } = await api(`/console/api/dead-letters/${encodeURIComponent(context)}`);
      if (code !== 200) return void (status.textContent = `Refused: ${body.message}`);
      $("#letters tbody").replaceChildren(
        ...body.letters.map((letter) =>
          el("tr", {},
            el("td", {}, letter.id), el("td", {}, timeOf(letter.timestamp)), el("td", {}, letter.key ?? "null"), el("td", {}, shortName(letter)),
            el("td", {}, `${letter.headers?.error_code ?? "?"}: ${letter.headers?.error ?? ""}`), el("td", {}, letter.replayOf ?? ""),
            el("td", {},
              el("button", { type: "button", onclick: () => ($("#letter").textContent = JSON.stringify(letter, null, 2)) }, "Inspect"), " ",
              el("button", { type: "button", onclick: async () => {
                if (!(await confirmedAction(`/console/api/dead-letters/${encodeURIComponent(context)}/${encodeURIComponent(letter.id)}/replay`, status))) return;
                // A replay that fails again comes back as a new dead letter within a few seconds.
                for (const delay of [1_000, 3_000, 6_000, 10_000]) setTimeout(() => void load(), delay);
              } }, "Replay…"))),
        ),
      );
      if (body.letters.length === 0) $("#letters tbody").replaceChildren(el("tr", {}, el("td", { colspan: 7 }, `no dead letter in ${context}`)));
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void load();
    });
    void load();
  },

  "read-models"() {
    $("#lookups").replaceChildren(
      ...pageData.lookups.map((lookup) => {
        const output = el("pre", {});
        const input = el("input", { name: "key", required: true, size: 30, "aria-label": lookup.keyName });
        const form = el("form", { class: "filters", onsubmit: async (event) => {
          event.preventDefault();
          const { status, body } = await api(`/console/api/lookups/${encodeURIComponent(lookup.id)}/${encodeURIComponent(input.value)}`);
          output.textContent = status === 200 ? JSON.stringify(body.value, null, 2) : `Refused: ${body.message}`;
        } }, el("label", {}, `${lookup.keyName} `, input), " ", el("button", { type: "submit" }, "Look up"));
        return el("section", {}, el("h2", {}, lookup.title), form, output);
      }),
      ...(pageData.lookups.length === 0 ? [el("p", {}, "No context of this gateway offers a read model to look up.")] : []),
    );
  },
};

pages[document.body.dataset.page]?.();
