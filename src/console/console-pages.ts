/** The console's pages: server-rendered shells that `assets/console.js` fills from `/console/api/…`. */

/** The pages, in the order of the navigation: path under /console, id (`data-page`) and title. */
export const PAGES = [
  { path: "", id: "overview", title: "Overview" },
  { path: "/events", id: "events", title: "Live events" },
  { path: "/aggregates", id: "aggregates", title: "Aggregates" },
  { path: "/projections", id: "projections", title: "Projections" },
  { path: "/dead-letters", id: "dead-letters", title: "Dead letters" },
  { path: "/read-models", id: "read-models", title: "Read models" },
] as const;

export type PageId = (typeof PAGES)[number]["id"];

/** Text for HTML, attributes included. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char]!);
}

/** JSON inside a `<script type="application/json">` block: nothing in it can close the block. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, "\\u003c");

const head = (title: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · QuikChat console</title><link rel="stylesheet" href="/console/assets/console.css"><script src="/console/assets/console.js" defer></script></head>`;

/** What a page lists in its forms (contexts, topics, lookups). */
export interface PageData {
  readonly contexts: readonly string[];
  readonly topics: readonly string[];
  readonly aggregateContexts: readonly string[];
  readonly dlqContexts: readonly string[];
  readonly lookups: readonly { readonly id: string; readonly title: string; readonly keyName: string }[];
}

const BODIES: Record<PageId, string> = {
  overview: `<p class="note">Read from this process's own metrics registry (what <code>/metrics</code> serves); rates are per second between two refreshes. Live calls and huddles are counted in the whole service, from their read models.</p><div id="overview"></div>`,
  events: `<form id="tail" class="filters">
  <label>context or topic <select name="target"></select></label>
  <label>from <input name="from" value="end" size="22" title="beginning, end, an ISO time or partition:offset"></label>
  <label>key <input name="key" size="16"></label>
  <label>type <input name="type" size="18" placeholder="MessageSent"></label>
  <label>correlation <input name="correlation" size="20"></label>
  <button type="submit">Start</button> <button type="button" id="tail-stop" disabled>Stop</button>
</form>
<p id="tail-status" class="status">Not started.</p>
<table id="events" class="records"><thead><tr><th>time</th><th>topic/partition@offset</th><th>key</th><th>record</th><th>correlation</th><th>value</th></tr></thead><tbody></tbody></table>`,
  aggregates: `<form id="aggregate" class="filters">
  <label>context <select name="context"></select></label>
  <label>id <input name="id" size="30" required></label>
  <button type="submit">Show timeline</button>
</form>
<p id="aggregate-status" class="status"></p>
<div class="split"><table id="timeline" class="records"><thead><tr><th>#</th><th>time</th><th>topic/partition@offset</th><th>record</th><th>correlation</th><th></th></tr></thead><tbody></tbody></table>
<section><h2 id="state-title">State</h2><pre id="state"></pre></section></div>`,
  projections: `<p id="projections-status" class="status">Loading…</p>
<h2>Projections: checkpoint and lag per partition</h2><table id="projections" class="records"><thead><tr><th>projection</th><th>topic</th><th>partition</th><th>checkpoint</th><th>high watermark</th><th>lag</th><th></th></tr></thead><tbody></tbody></table>
<h2>Consumer groups</h2><table id="groups" class="records"><thead><tr><th>group</th><th>state</th><th>members</th><th>topic</th><th>partition</th><th>committed</th><th>high watermark</th><th>lag</th></tr></thead><tbody></tbody></table>`,
  "dead-letters": `<form id="dlq" class="filters"><label>context <select name="context"></select></label> <button type="submit">List</button></form>
<p id="dlq-status" class="status"></p>
<table id="letters" class="records"><thead><tr><th>id</th><th>time</th><th>key</th><th>command</th><th>reason</th><th>replay of</th><th></th></tr></thead><tbody></tbody></table>
<pre id="letter"></pre>`,
  "read-models": `<div id="lookups"></div>`,
};

/** A page of the console for a signed-in operator. */
export function consolePage(id: PageId, operator: string, data: PageData): string {
  const page = PAGES.find((candidate) => candidate.id === id)!;
  const nav = PAGES.map((p) => `<a href="/console${p.path}"${p.id === id ? ' aria-current="page"' : ""}>${p.title}</a>`).join("");
  return `${head(page.title)}<body data-page="${id}">
<header><strong>QuikChat console</strong><nav>${nav}</nav><span class="who">${escapeHtml(operator)}</span><form method="post" action="/console/sign-out"><button type="submit">Sign out</button></form></header>
<main><h1>${page.title}</h1>
${BODIES[id]}
</main>
<dialog id="confirm"><p id="confirm-prompt"></p><button type="button" id="confirm-yes">Confirm</button> <button type="button" id="confirm-no">Cancel</button></dialog>
<script type="application/json" id="page-data">${scriptJson(data)}</script>
</body></html>`;
}

/** The sign-in page; `message` says why (a refused credential, a role missing). */
export function signInPage(message: string | undefined): string {
  return `${head("Sign in")}<body data-page="sign-in"><main class="narrow"><h1>QuikChat console</h1>
${message === undefined ? "" : `<p class="refused" role="alert">${escapeHtml(message)}</p>`}
<form method="post" action="/console/sign-in"><label>Operator token or console key<br><textarea name="credential" rows="5" cols="60" required autocomplete="off"></textarea></label><br><button type="submit">Sign in</button></form>
<p class="note">A JWT signed like the service's user tokens whose <code>roles</code> claim holds <code>"operator"</code> (in development: <code>quikchat token &lt;user&gt; --operator</code>), or the deployment's <code>CONSOLE_KEY</code>.</p>
</main></body></html>`;
}

/** A refusal: a signed-in bearer that is not an operator (403), a bad request (400), or a dependency or key set that did not answer (5xx). */
export function refusedPage(status: number, message: string): string {
  const title = status === 403 ? "Not an operator" : status === 400 ? "Not possible" : "Try again";
  return `${head(title)}<body data-page="refused"><main class="narrow"><h1>${title}</h1><p class="refused" role="alert">${escapeHtml(message)}</p>
<form method="post" action="/console/sign-out"><button type="submit">Sign in as someone else</button></form></main></body></html>`;
}
