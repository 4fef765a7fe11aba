// The viewer's entry point: asks for the key once (kept in this browser, never put in a
// URL), then opens the page the address names: /ui/runs/{run_id} or
// /ui/workflows/{workflow_id}/runs.

import { ApiError, forgetKey, storedKey, storeKey } from "./api.js";
import { runPage } from "./run.js";
import { runsPage } from "./runs.js";

const $ = (id) => document.getElementById(id);

function target() {
  const path = window.location.pathname;
  const rest = path.slice(path.lastIndexOf("/ui/") + "/ui/".length).split("/");
  const page = document.body.dataset.page === "run" ? runPage : runsPage;
  return (ready) => page(decodeURIComponent(rest[1]), ready);
}

function say(text) {
  const message = $("message");
  message.textContent = text;
  message.hidden = !text;
}

function askForKey(problem) {
  $("key-panel").hidden = false;
  $("key-error").textContent = problem || "";
  $("forget-key").hidden = true;
  $("key-input").focus();
}

async function open() {
  $("key-panel").hidden = true;
  $("forget-key").hidden = false;
  say("Loading…");
  try {
    await target()(() => say(""));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      // A wrong or revoked key, or one that cannot read (an app key): ask again.
      forgetKey();
      say("");
      askForKey(error.message);
      return;
    }
    say(error instanceof ApiError ? error.message : `The viewer failed: ${error}`);
  }
}

function start() {
  $("key-form").addEventListener("submit", (event) => {
    // Never submitted: the key goes to storage and from there into request headers only.
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    storeKey(key, $("key-remember").checked);
    $("key-input").value = "";
    open();
  });
  $("forget-key").addEventListener("click", () => {
    forgetKey();
    window.location.reload();
  });
  if (storedKey()) open();
  else askForKey();
}

start();
