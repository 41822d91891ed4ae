// runs.js: the runs list: filters, paging, and live updates from the runs
// feed (GET /agent-runs/stream), an EventSource: no polling loop.

import { api, streamURL, probe, envelopeError } from "./api.js";
import { $, el, badge, link, prLinks, when } from "./dom.js";

const LIMIT = 20;
const FEED = "/agent-runs/stream";

// state survives leaving the list, so coming back keeps page and filters.
const state = { page: 1, status: "", source: "" };

// runItem is one run of the list.
function runItem(run) {
  const title = (run.summary || "").trim() || "Run " + run.id;
  const links = [];
  if (run.web_url) links.push(link(run.web_url, "Open in Codegen"));
  links.push(...prLinks(run));
  return el("li", { class: "run", "data-id": run.id },
    el("div", { class: "run-head" },
      el("a", { href: "#/runs/" + run.id, class: "run-id" }, "#" + run.id),
      badge(run.status),
      el("span", { class: "run-source" }, run.source_type || ""),
      el("time", { class: "run-time" }, when(run.created_at))),
    el("p", { class: "run-title" }, title),
    links.length ? el("p", { class: "run-links" }, ...links.flatMap((l, i) => (i ? [" · ", l] : [l]))) : null);
}

// matches reports whether run passes the list's filters.
function matches(run) {
  return (!state.status || run.status === state.status) && (!state.source || run.source_type === state.source);
}

// listView shows the list and keeps it live until stop is called.
export function listView(fail) {
  $("list-view").hidden = false;
  $("f-status").value = state.status;
  $("f-source").value = state.source;
  const ctl = new AbortController();
  let feed = null, retry = null;
  let total = 0, pages = 0;

  const live = (text, showRefresh) => {
    $("live").textContent = text;
    $("refresh").hidden = !showRefresh;
  };

  // fresh holds the runs the feed sent since the list was last requested,
  // to apply over its answer, which may be older than they are.
  let fresh = new Map();

  let loads = 0;
  async function load() {
    const mine = ++loads;
    fresh = new Map();
    const q = new URLSearchParams({ page: state.page, limit: LIMIT });
    if (state.status) q.set("status", state.status);
    if (state.source) q.set("source_type", state.source);
    try {
      const data = await api("/agent-runs?" + q, { signal: ctl.signal });
      if (mine !== loads) return; // a later load answers
      total = data.total || 0;
      pages = data.pages || 0;
      $("runs").replaceChildren(...(data.items || []).map(runItem));
      if (!data.items || !data.items.length) $("runs").append(el("li", { class: "empty" }, "No runs here."));
      pager();
      for (const run of fresh.values()) upsert(run);
    } catch (e) { fail(e); }
  }

  function pager() {
    $("pageinfo").textContent = `Page ${state.page} of ${Math.max(pages, 1)} (${total} runs)`;
    $("prev").disabled = state.page <= 1;
    $("next").disabled = state.page >= pages;
  }

  // upsert puts a run from the feed in the list: in place when shown, at
  // the top of the first page when new and matching the filters.
  function upsert(run) {
    const list = $("runs");
    const old = list.querySelector(`li.run[data-id="${Number(run.id)}"]`);
    if (old) {
      if (matches(run)) old.replaceWith(runItem(run)); else old.remove();
      return;
    }
    if (state.page !== 1 || !matches(run)) return;
    const ids = [...list.querySelectorAll("li.run")].map((li) => Number(li.dataset.id));
    if (ids.length && Number(run.id) < Math.min(...ids) && ids.length >= LIMIT) return; // older than the page
    const empty = list.querySelector("li.empty");
    if (empty) empty.remove();
    const after = [...list.querySelectorAll("li.run")].find((li) => Number(li.dataset.id) < Number(run.id));
    list.insertBefore(runItem(run), after || null);
    while (list.querySelectorAll("li.run").length > LIMIT) list.lastElementChild.remove();
    total++;
    pager();
  }

  function openFeed() {
    clearTimeout(retry);
    feed = new EventSource(streamURL(FEED));
    feed.addEventListener("open", () => live("Live: the list updates by itself.", false));
    feed.addEventListener("run", (e) => {
      let run;
      try { run = JSON.parse(e.data); } catch { return; } // a malformed event is skipped
      fresh.set(run.id, run);
      if (fresh.size > 200) fresh.delete(fresh.keys().next().value); // bounded: the oldest goes
      upsert(run);
    });
    // A reset: the feed lost track of what this page has (its poller went,
    // or the server restarted) and sends a snapshot of its newest page; the
    // list's page is read again, the snapshot and later events applied over.
    feed.addEventListener("reset", () => load());
    feed.addEventListener("error", (e) => {
      if (e.data) { // the feed's own error event: an envelope; the feed goes on
        const err = envelopeError(e.data);
        if (err) fail(err);
        return;
      }
      if (feed.readyState === EventSource.CLOSED) feedRefused();
      else live("Live updates: reconnecting…", true);
    });
  }

  // feedRefused asks why the feed refused to open and either gives up on
  // live updates (a server without the feed) or tries again later.
  async function feedRefused() {
    feed.close();
    const err = await probe(FEED);
    if (ctl.signal.aborted) return;
    if (err && (err.status === 401 || err.status === 403)) { fail(err); return; }
    if (err && err.status >= 400 && err.status < 500 && err.status !== 429) {
      live("Live updates unavailable on this server: use Refresh.", true);
      return;
    }
    const wait = (err && err.retryAfter) || 5;
    live(`Live updates paused; retrying in ${wait} s.`, true);
    retry = setTimeout(openFeed, wait * 1000);
  }

  const onFilter = () => {
    state.status = $("f-status").value;
    state.source = $("f-source").value;
    state.page = 1;
    load();
  };
  const onPrev = () => { state.page = Math.max(1, state.page - 1); load(); };
  const onNext = () => { state.page++; load(); };
  const onRefresh = () => { load(); if (!feed || feed.readyState === EventSource.CLOSED) openFeed(); };
  const noSubmit = (e) => e.preventDefault();
  // A new run comes by the feed; without it, the list is read again.
  const onCreated = () => { if (!feed || feed.readyState !== EventSource.OPEN) load(); };
  document.addEventListener("run-created", onCreated);
  $("filters").addEventListener("change", onFilter);
  $("filters").addEventListener("submit", noSubmit);
  $("prev").addEventListener("click", onPrev);
  $("next").addEventListener("click", onNext);
  $("refresh").addEventListener("click", onRefresh);
  live("Connecting to live updates…", false);
  load();
  openFeed();

  return {
    stop() {
      ctl.abort();
      clearTimeout(retry);
      if (feed) feed.close();
      $("filters").removeEventListener("change", onFilter);
      $("filters").removeEventListener("submit", noSubmit);
      document.removeEventListener("run-created", onCreated);
      $("prev").removeEventListener("click", onPrev);
      $("next").removeEventListener("click", onNext);
      $("refresh").removeEventListener("click", onRefresh);
    },
  };
}
