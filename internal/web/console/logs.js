// logs.js: one log entry of a run as a list item. Every field is untrusted
// text from the agent and goes in as text.

import { el, when } from "./dom.js";

// pretty renders an observation, tool input or output: strings as they
// are, anything else as indented JSON.
function pretty(v) {
  if (typeof v === "string") return v;
  try { return JSON.stringify(v, null, 2); } catch { return String(v); }
}

const present = (v) => v !== null && v !== undefined && v !== "" &&
  !(typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);

// logEntry returns the list item of the entry at position pos.
export function logEntry(pos, entry) {
  const type = typeof entry.message_type === "string" ? entry.message_type : "LOG";
  const kind = /^[A-Z_]+$/.test(type) ? type.toLowerCase().replace(/_/g, "-") : "log";
  const li = el("li", { class: "log log-" + kind, "data-pos": pos },
    el("div", { class: "log-head" },
      el("span", { class: "log-type" }, type),
      entry.created_at ? el("time", {}, when(entry.created_at)) : null));
  if (present(entry.thought)) li.append(el("p", { class: "log-thought" }, String(entry.thought)));
  if (present(entry.tool_name) || present(entry.tool_input) || present(entry.tool_output)) {
    const d = el("details", { class: "log-tool" }, el("summary", {}, "Tool: " + (entry.tool_name || "unnamed")));
    if (present(entry.tool_input)) d.append(el("p", { class: "log-label" }, "Input"), el("pre", {}, pretty(entry.tool_input)));
    if (present(entry.tool_output)) d.append(el("p", { class: "log-label" }, "Output"), el("pre", {}, pretty(entry.tool_output)));
    li.append(d);
  }
  if (present(entry.observation)) li.append(el("pre", { class: "log-observation" }, pretty(entry.observation)));
  return li;
}
