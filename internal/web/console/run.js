// run.js: one run's page: its facts, live logs from the run's SSE stream,
// resume and stop. A dropped stream is reopened after the last log entry
// shown (EventSource sends Last-Event-ID itself; a new EventSource asks
// with ?after=), and entries are deduplicated by position anyway. The page
// keeps the latest MAX_LOGS entries and says how many earlier ones it let go.

import { api, streamURL, probe, envelopeError } from "./api.js";
import { $, el, badge, link, prLinks, when, showError, TERMINAL } from "./dom.js";
import { logEntry } from "./logs.js";

export const MAX_LOGS = 2000;

// runView shows run id until stop is called.
export function runView(id, fail) {
  $("run-view").hidden = false;
  const box = $("run-error");
  const logs = $("logs");
  const ctl = new AbortController();
  let run = { id };
  let es = null, retry = null, last = -1, stick = true, ended = false, trimmed = 0;
  showError(box, null);
  logs.replaceChildren();
  $("log-trimmed").hidden = true;
  $("run-h").textContent = "Run #" + id;
  $("log-state").textContent = "";
  const err = (e) => fail(e, box);

  function render(r) {
    run = { ...run, ...r };
    $("r-status").replaceChildren(badge(run.status));
    $("r-created").textContent = when(run.created_at);
    $("r-source").textContent = run.source_type || "";
    const links = [];
    if (run.web_url) links.push(link(run.web_url, "Open in Codegen"));
    links.push(...prLinks(run));
    $("r-links").replaceChildren(...links.flatMap((l, i) => (i ? [" · ", l] : [l])));
    $("r-summary").textContent = run.summary || "None yet.";
    $("r-result").textContent = run.result || "None yet.";
    const finished = TERMINAL.includes(run.status);
    $("stop").hidden = finished || !run.status;
    $("resume-form").hidden = !(finished || run.status === "PAUSED");
  }

  function append(pos, entry) {
    if (!(pos > last)) return; // already shown: positions only grow
    last = pos;
    logs.append(logEntry(pos, entry));
    if (logs.childElementCount > MAX_LOGS) trim();
    if (stick) logs.scrollTop = logs.scrollHeight;
    else $("jump").hidden = false;
  }

  // trim lets the oldest entries go past MAX_LOGS, and says so.
  function trim() {
    while (logs.childElementCount > MAX_LOGS) {
      logs.firstElementChild.remove();
      trimmed++;
    }
    const t = $("log-trimmed");
    t.textContent = `${trimmed} earlier ${trimmed === 1 ? "entry is" : "entries are"} not shown: the page keeps the latest ${MAX_LOGS}.`;
    t.hidden = false;
  }

  function open() {
    clearTimeout(retry);
    if (es) es.close();
    ended = false;
    es = new EventSource(streamURL(`/agent-runs/${id}/logs/stream`, last >= 0 ? { after: last } : {}));
    es.addEventListener("open", () => { $("log-state").textContent = "(live)"; });
    es.addEventListener("status", (e) => { try { render(JSON.parse(e.data)); } catch { /* skipped */ } });
    es.addEventListener("log", (e) => {
      try { append(Number(e.lastEventId), JSON.parse(e.data)); } catch { /* skipped */ }
    });
    es.addEventListener("done", (e) => {
      es.close();
      ended = true;
      try { render(JSON.parse(e.data)); } catch { /* skipped */ }
      $("log-state").textContent = "(done)";
    });
    es.addEventListener("error", (e) => {
      if (e.data) { // the stream's error event: an envelope
        const x = envelopeError(e.data);
        if (x) err(x);
        return;
      }
      if (ended) return;
      if (es.readyState === EventSource.CLOSED) refused();
      else $("log-state").textContent = "(reconnecting…)";
    });
  }

  // refused asks why the stream would not open, and shows it or tries again.
  async function refused() {
    es.close();
    const x = await probe(`/agent-runs/${id}/logs/stream`, last >= 0 ? { after: last } : {});
    if (ctl.signal.aborted) return;
    if (x && x.status >= 400 && x.status < 500 && x.status !== 429) {
      $("log-state").textContent = "(stopped)";
      err(x);
      return;
    }
    if (x) err(x);
    const wait = (x && x.retryAfter) || 3;
    $("log-state").textContent = `(reconnecting in ${wait} s)`;
    retry = setTimeout(open, wait * 1000);
  }

  const onScroll = () => {
    stick = logs.scrollHeight - logs.scrollTop - logs.clientHeight < 24;
    if (stick) $("jump").hidden = true;
  };
  const onJump = () => { logs.scrollTop = logs.scrollHeight; stick = true; $("jump").hidden = true; };
  const onStop = () => $("stop-dialog").showModal();
  const onKeep = () => $("stop-dialog").close();
  const onConfirm = async () => {
    $("stop-dialog").close();
    showError(box, null);
    try { render(await api(`/agent-runs/${id}/stop`, { method: "POST", signal: ctl.signal })); } catch (e) { err(e); }
  };
  const onResume = async (e) => {
    e.preventDefault();
    showError(box, null);
    $("resume-submit").disabled = true;
    try {
      render(await api(`/agent-runs/${id}/resume`, { method: "POST", body: { prompt: $("resume-prompt").value }, signal: ctl.signal }));
      $("resume-prompt").value = "";
      if (ended || !es || es.readyState === EventSource.CLOSED) open();
    } catch (x) { err(x); } finally { $("resume-submit").disabled = false; }
  };
  const wiring = [[logs, "scroll", onScroll], [$("jump"), "click", onJump], [$("stop"), "click", onStop],
    [$("stop-keep"), "click", onKeep], [$("stop-confirm"), "click", onConfirm], [$("resume-form"), "submit", onResume]];
  for (const [t, ev, f] of wiring) t.addEventListener(ev, f);

  render({ status: "" });
  api(`/agent-runs/${id}`, { signal: ctl.signal }).then(render, err);
  open();

  return {
    stop() {
      ctl.abort();
      clearTimeout(retry);
      if (es) es.close();
      for (const [t, ev, f] of wiring) t.removeEventListener(ev, f);
      if ($("stop-dialog").open) $("stop-dialog").close();
    },
  };
}
