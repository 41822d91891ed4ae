// dom.js: building the page. Text always goes in as textContent, never as
// HTML: logs, results, summaries, prompts and names come from an AI agent
// or another user and are untrusted.

export const $ = (id) => document.getElementById(id);

// el makes an element with attributes (class, plain attributes; never on*
// handlers or style) and children: nodes, or strings added as text.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}

// safeURL returns u when it is an absolute http(s) URL, else null: only
// those become links.
export function safeURL(u) {
  if (typeof u !== "string") return null;
  try {
    const x = new URL(u);
    return x.protocol === "http:" || x.protocol === "https:" ? x.href : null;
  } catch { return null; }
}

// link is an external link to u with text, or the text alone when u is not
// an http(s) URL.
export function link(u, text) {
  const href = safeURL(u);
  if (!href) return el("span", {}, text);
  return el("a", { href, target: "_blank", rel: "noopener noreferrer" }, text);
}

const ACTIVE = ["ACTIVE", "RUNNING", "PENDING", "EVALUATION"];
const GOOD = ["COMPLETE"];
const HELD = ["PAUSED"];
const QUIET = ["CANCELLED", "STOPPED"];
export const TERMINAL = ["COMPLETE", "ERROR", "FAILED", "CANCELLED", "STOPPED", "TIMEOUT", "MAX_ITERATIONS_REACHED", "OUT_OF_TOKENS"];

// badge is a run's status as a coloured label.
export function badge(status) {
  const s = status || "UNKNOWN";
  const kind = ACTIVE.includes(s) ? "active" : GOOD.includes(s) ? "good" : HELD.includes(s) ? "held"
    : QUIET.includes(s) ? "quiet" : TERMINAL.includes(s) ? "bad" : "quiet";
  return el("span", { class: "badge badge-" + kind, "data-status": s }, s);
}

// prLinks lists a run's pull requests as links.
export function prLinks(run) {
  const prs = Array.isArray(run.github_pull_requests) ? run.github_pull_requests : [];
  return prs.map((pr) => link(pr.url, pr.title ? "PR: " + pr.title : "Pull request " + pr.id));
}

// when shows a timestamp in the reader's locale, or "" if there is none.
export function when(ts) {
  if (!ts) return "";
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(ts) ? ts : ts + "Z");
  return isNaN(d) ? String(ts) : d.toLocaleString();
}

// showError shows err in the region box: the envelope's message, status,
// code and request id, and for a 429 when to retry (a stream's error event
// has no Retry-After: its stream retries by itself). A null err hides it.
export function showError(box, err) {
  box.replaceChildren();
  box.hidden = !err;
  if (!err) return;
  box.append(el("span", { class: "err-msg" }, err.message));
  if (err.status) box.append(" ", el("span", { class: "err-status" }, `(HTTP ${err.status}${err.code ? ", " + err.code : ""})`));
  if (err.requestId) box.append(" ", el("span", { class: "err-rid" }, "request id " + err.requestId));
  if (err.retryAfter !== null && err.retryAfter !== undefined) {
    const at = new Date(Date.now() + err.retryAfter * 1000).toLocaleTimeString();
    box.append(" ", el("span", { class: "err-retry" }, `Retry in ${err.retryAfter} s (after ${at}).`));
  } else if (err.status === 429) {
    box.append(" ", el("span", { class: "err-retry" }, err.streamed ? "Retrying automatically." : "Retry in a minute."));
  }
}
