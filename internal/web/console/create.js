// create.js: the new-run form: prompt, repository (from /repositories),
// model, agent type, and images read from files into data URIs.

import { api } from "./api.js";
import { $, el, showError } from "./dom.js";

// MAX_BODY is the proxy's default MAX_BODY_BYTES (32 MiB): images are sent
// base64-encoded inside the JSON body, so their data URIs must fit in it
// with the rest. A server configured lower answers 413, which is shown.
const MAX_BODY = 32 << 20;
const MAX_IMAGES = 10;

// readDataURI reads a file into a data URI.
function readDataURI(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

// images returns the chosen files as data URIs, or throws an Error saying
// which limit they break.
async function images() {
  const files = [...$("c-images").files];
  if (files.length > MAX_IMAGES) throw new Error(`choose at most ${MAX_IMAGES} images`);
  let size = 0;
  for (const f of files) {
    if (!f.type.startsWith("image/")) throw new Error(`${f.name} is not an image`);
    size += Math.ceil(f.size / 3) * 4 + 64; // its base64 data URI
  }
  if (size > MAX_BODY - (1 << 20)) throw new Error(`the images are too large: at most ${(MAX_BODY >> 20) - 8} MiB in all`);
  return Promise.all(files.map(readDataURI));
}

let reposFor = null; // the organization whose repositories the form lists

async function loadRepos(org, fail) {
  if (reposFor === org) return;
  reposFor = org;
  const sel = $("c-repo");
  try {
    const page = await api("/repositories?limit=100");
    sel.replaceChildren(el("option", { value: "" }, "None"),
      ...((page && page.items) || []).map((r) => el("option", { value: r.id }, r.full_name || r.name || "Repository " + r.id)));
  } catch (e) {
    reposFor = null;
    fail(e, $("create-error"));
  }
}

// setupCreate wires the form once; fail shows an error in a box.
export function setupCreate(fail) {
  const details = $("create");
  details.addEventListener("toggle", () => {
    if (details.open) loadRepos(sessionStorage.getItem("codegen.org") || "", fail);
  });
  $("create-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const box = $("create-error");
    showError(box, null);
    $("create-note").replaceChildren();
    const body = { prompt: $("c-prompt").value };
    const repo = $("c-repo").value, model = $("c-model").value.trim(), agent = $("c-agent").value;
    if (repo) body.repo_id = Number(repo);
    if (model) body.model = model;
    if (agent) body.agent_type = agent;
    const button = $("c-submit");
    button.disabled = true;
    try {
      const imgs = await images();
      if (imgs.length) body.images = imgs;
      const run = await api("/agent-runs", { method: "POST", body });
      $("create-form").reset();
      $("create-note").replaceChildren("Created ", el("a", { href: "#/runs/" + Number(run.id) }, "run #" + run.id), ".");
      document.dispatchEvent(new CustomEvent("run-created", { detail: run }));
    } catch (err) {
      fail(err.status === undefined ? { message: err.message } : err, box);
    } finally {
      button.disabled = false;
    }
  });
}
