// The volunteer page: consent, instructions, then one trial at a time from the participant API.
// The page never knows an answer before the server checks it; reloading resumes where it was.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("study-config").textContent);
  const storageKey = `beholder:${config.slug}${config.preview ? ":preview" : ""}`;
  const params = new URLSearchParams(window.location.search);
  const trialScreen = document.getElementById("screen-trial");
  const stage = trialScreen.querySelector(".stage");
  const feedback = trialScreen.querySelector(".feedback");
  const confidenceBox = trialScreen.querySelector(".confidence");
  const choiceKeys = config.mode === "pair" ? { f: "left", j: "right" } : { f: "fake", j: "real" };

  let token = window.localStorage.getItem(storageKey);
  let trial = null; // the trial on screen
  let paintedAt = null; // performance.now() when its image(s) were painted
  let pending = null; // { choice, rtMs } while waiting for a confidence rating
  let busy = false;
  let exposureTimer = null;

  const show = (id) => {
    for (const screen of document.querySelectorAll(".screen")) screen.hidden = screen.id !== id;
  };

  const csrfToken = (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";

  // Every participant request is safe to repeat (an answer sent twice is stored once), so brief
  // outages (a restarting server or database, a dropped connection) are retried with backoff.
  const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000];

  const api = async (url, options = {}) => {
    for (let attempt = 0; ; attempt += 1) {
      let response;
      try {
        response = await fetch(url, {
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
          credentials: "same-origin",
          ...options,
        });
      } catch (networkError) {
        if (attempt < RETRY_DELAYS_MS.length) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
          continue;
        }
        throw new Error("The connection to the study server was lost. Please try again.");
      }
      if ([502, 503, 504].includes(response.status) && attempt < RETRY_DELAYS_MS.length) {
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
        continue;
      }
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const error = new Error(body.detail || `The server answered ${response.status}.`);
        error.status = response.status;
        throw error;
      }
      return body;
    }
  };

  const fail = (error) => {
    busy = false;
    document.getElementById("error-text").textContent = error.message;
    show("screen-error");
  };

  // --- consent and instructions -------------------------------------------------------------

  document.getElementById("consent-decline").addEventListener("click", () => show("screen-declined"));
  document.getElementById("consent-accept").addEventListener("click", () => start().catch(fail));
  document.getElementById("instructions-start").addEventListener("click", () => nextTrial().catch(fail));
  document.getElementById("error-retry").addEventListener("click", () => nextTrial().catch(fail));

  async function start() {
    const body = { consent: true };
    if (params.get("PROLIFIC_PID")) body.external_id = params.get("PROLIFIC_PID");
    if (params.get("STUDY_ID")) body.study_id = params.get("STUDY_ID");
    if (params.get("SESSION_ID")) body.session_id = params.get("SESSION_ID");
    const started = await api(config.startUrl + (config.preview ? "?preview=1" : ""), {
      method: "POST",
      body: JSON.stringify(body),
    });
    token = started.participant;
    window.localStorage.setItem(storageKey, token);
    show("screen-instructions");
  }

  // --- trials ---------------------------------------------------------------------------------

  async function nextTrial() {
    busy = true;
    const next = await api(config.nextUrl.replace(/[0-9a-f-]{36}/, token));
    if (next.done) return finish(next);
    trial = next;
    pending = null;
    setProgress(next.index, next.of);
    const kind = trialScreen.querySelector(".trial-kind");
    kind.hidden = next.kind !== "practice";
    kind.textContent = "Practice — you will be told whether you were right.";
    const instruction = trialScreen.querySelector(".instruction");
    instruction.hidden = !next.instruction;
    instruction.textContent = next.instruction || "";
    feedback.hidden = true;
    if (confidenceBox) confidenceBox.hidden = true;
    setChoicesEnabled(false);
    show("screen-trial");
    await present(next);
    setChoicesEnabled(true);
    busy = false;
  }

  // Decodes every image before inserting it, then waits two frames so the clock starts when the
  // pixels are on screen, not when the request was sent.
  async function present(next) {
    clearTimeout(exposureTimer);
    const images = await Promise.all(
      next.images.map(async ({ url }, position) => {
        const image = new Image();
        image.src = url;
        image.alt = next.images.length > 1 ? (position ? "right image" : "left image") : "image to judge";
        image.draggable = false;
        await image.decode();
        return image;
      }),
    );
    stage.classList.toggle("pair", next.mode === "pair");
    stage.replaceChildren(
      ...images.map((image, position) => {
        const frame = document.createElement("div");
        frame.className = "frame";
        frame.style.maxWidth = `${next.size}px`;
        image.style.width = `${image.naturalWidth}px`;
        frame.append(image);
        if (next.mode === "pair") {
          frame.classList.add("clickable");
          frame.addEventListener("click", () => choose(position ? "right" : "left"));
        }
        return frame;
      }),
    );
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    paintedAt = performance.now();
    if (next.exposure_ms) {
      exposureTimer = setTimeout(() => {
        for (const frame of stage.querySelectorAll(".frame")) frame.classList.add("masked");
      }, next.exposure_ms);
    }
  }

  function choose(choice) {
    if (busy || !trial || pending) return;
    pending = { choice, rtMs: Math.round(performance.now() - paintedAt) };
    for (const button of trialScreen.querySelectorAll(".choice")) {
      button.classList.toggle("selected", button.dataset.choice === choice);
    }
    if (trial.confidence_scale) {
      showConfidence(trial.confidence_scale);
    } else {
      submit(null).catch(fail);
    }
  }

  function showConfidence(scale) {
    const buttons = confidenceBox.querySelector(".confidence-buttons");
    buttons.replaceChildren(
      ...Array.from({ length: scale }, (_, i) => {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = String(i + 1);
        button.addEventListener("click", () => submit(i + 1).catch(fail));
        return button;
      }),
    );
    confidenceBox.hidden = false;
  }

  async function submit(confidence) {
    if (busy || !pending) return;
    busy = true;
    setChoicesEnabled(false);
    const image = stage.querySelector("img");
    const box = image.getBoundingClientRect();
    const result = await api(config.responseUrl.replace(/[0-9a-f-]{36}/, trial.trial), {
      method: "POST",
      body: JSON.stringify({
        participant: token,
        choice: pending.choice,
        confidence,
        rt_ms: pending.rtMs,
        rendered_width: Math.round(box.width),
        rendered_height: Math.round(box.height),
        device_pixel_ratio: window.devicePixelRatio,
      }),
    });
    for (const button of trialScreen.querySelectorAll(".choice")) button.classList.remove("selected");
    if (result.feedback) {
      feedback.textContent = result.feedback.correct ? "Correct!" : "Not quite.";
      feedback.className = `feedback ${result.feedback.correct ? "right" : "wrong"}`;
      feedback.hidden = false;
      await new Promise((resolve) => setTimeout(resolve, 1200));
    }
    await nextTrial();
  }

  function setChoicesEnabled(enabled) {
    for (const button of trialScreen.querySelectorAll(".choice")) button.disabled = !enabled;
  }

  function setProgress(index, of) {
    const progress = document.querySelector(".progress");
    progress.hidden = false;
    progress.querySelector(".progress-bar").style.width = `${(100 * index) / of}%`;
    progress.querySelector(".progress-text").textContent = `${index} / ${of}`;
  }

  function finish(done) {
    busy = false;
    trial = null;
    document.querySelector(".progress").hidden = true;
    document.getElementById("completion-code").textContent = done.completion_code;
    if (done.score && done.score.of) {
      document.getElementById("own-score").textContent =
        `You judged ${done.score.correct} of ${done.score.of} images correctly.`;
    }
    if (done.redirect_url) {
      document.getElementById("redirect-link").href = done.redirect_url;
      document.getElementById("redirect").hidden = false;
    }
    show("screen-end");
  }

  for (const button of trialScreen.querySelectorAll(".choice")) {
    button.addEventListener("click", () => choose(button.dataset.choice));
  }

  document.addEventListener("keydown", (event) => {
    if (trialScreen.hidden || event.repeat || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    if (choiceKeys[key]) {
      event.preventDefault();
      choose(choiceKeys[key]);
    } else if (pending && trial.confidence_scale && /^[1-9]$/.test(key)) {
      const rating = Number(key);
      if (rating <= trial.confidence_scale) submit(rating).catch(fail);
    }
  });

  // --- entry: resume a started participant, or ask for consent -------------------------------

  if (token) {
    nextTrial().catch((error) => {
      if (error.status === 404) {
        window.localStorage.removeItem(storageKey);
        token = null;
        show("screen-consent");
      } else {
        fail(error);
      }
    });
  } else {
    show("screen-consent");
  }
})();
