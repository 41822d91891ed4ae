// app.js: the console's entry point: sign-in, the organization switcher and
// the views (#/ the runs list, #/runs/ID a run).

import { api, session, ApiError } from "./api.js";
import { $, el, showError } from "./dom.js";
import { listView } from "./runs.js";
import { runView } from "./run.js";
import { setupCreate } from "./create.js";

let current = null; // the view shown: { stop() }
let sandbox = false;

// fail shows err in the view's error region box; a 401 signs out and
// shows err in the page's, since the view goes.
export function fail(err, box = $("error")) {
  if (err && err.name === "AbortError") return;
  if (err instanceof ApiError && err.status === 401) {
    session.token = "";
    show();
    box = $("error");
  }
  showError(box, err);
}

function leave() {
  if (current) current.stop();
  current = null;
  for (const id of ["signin-view", "list-view", "run-view"]) $(id).hidden = true;
}

// show renders the view the hash names.
function show() {
  leave();
  if (!session.token) {
    $("account").hidden = true;
    $("signin-view").hidden = false;
    $("token").focus();
    return;
  }
  $("account").hidden = false;
  const m = location.hash.match(/^#\/runs\/(\d+)$/);
  current = m ? runView(Number(m[1]), fail) : listView(fail);
}

async function signedIn() {
  showError($("error"), null);
  try {
    const [me, orgs] = await Promise.all([api("/users/me"), api("/organizations?limit=100")]);
    $("who").textContent = me.github_username || me.full_name || me.email || "";
    const sel = $("org");
    const items = (orgs && orgs.items) || [];
    sel.replaceChildren(...items.map((o) => el("option", { value: o.id }, o.name || "Organization " + o.id)));
    if (!items.some((o) => String(o.id) === session.org)) session.org = items.length ? String(items[0].id) : "";
    sel.value = session.org;
  } catch (e) {
    fail(e);
    if (!session.token) return;
  }
  show();
}

function setup() {
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    session.token = $("token").value.trim();
    $("token").value = "";
    if (session.token) signedIn();
  });
  $("signout").addEventListener("click", () => {
    session.token = "";
    session.org = "";
    $("mode").hidden = !sandbox;
    show();
  });
  $("org").addEventListener("change", () => {
    session.org = $("org").value;
    location.hash = "#/";
    show();
  });
  window.addEventListener("hashchange", () => {
    if (location.hash === "" || location.hash.startsWith("#/")) {
      show();
      const h = document.querySelector("main section:not([hidden]) h1");
      if (h) h.focus();
    }
  });
  setupCreate(fail);
}

async function start() {
  setup();
  try {
    const health = await api("/health");
    sandbox = health.mode === "sandbox";
  } catch (e) {
    fail(e);
  }
  $("mode").hidden = !sandbox;
  // The sandbox accepts any token; "sandbox" is the one the README uses.
  if (sandbox && !session.token) session.token = "sandbox";
  if (session.token) signedIn(); else show();
}

start();
