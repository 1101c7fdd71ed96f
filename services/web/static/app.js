// What every page shares: its text, calls to the services' APIs through the gateway (same origin),
// the token of whoever is logged in, field errors beside their fields, and camera scanning.

const T = JSON.parse(document.getElementById("strings").textContent);
export const LANG = document.documentElement.lang || "zh-CN";

export function t(key, params = {}) {
  let text = T[key] ?? key;
  for (const [name, value] of Object.entries(params)) text = text.replace(`{${name}}`, String(value));
  return text;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

export function show(element, visible = true) {
  (typeof element === "string" ? $(element) : element).hidden = !visible;
}

export function notice(text) {
  const box = $("#notice");
  box.textContent = text || "";
  box.hidden = !text;
}

// ---- tokens -------------------------------------------------------------------------------------
// Kept in sessionStorage: gone when the tab closes, never sent by the browser on its own (so no
// cookie, no CSRF), and readable only by this origin's scripts, which the CSP limits to our files.
export const session = {
  get(name) {
    const raw = sessionStorage.getItem(`unionhub.${name}`);
    if (!raw) return null;
    const saved = JSON.parse(raw);
    return saved.expires > Date.now() ? saved.token : null;
  },
  set(name, token, expiresIn) {
    const expires = Date.now() + Math.max(expiresIn - 30, 30) * 1000;
    sessionStorage.setItem(`unionhub.${name}`, JSON.stringify({ token, expires }));
  },
  clear(name) {
    sessionStorage.removeItem(`unionhub.${name}`);
  },
};

// ---- API calls ----------------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

// What the page does when an API refuses the token it sent (it lived its 15 minutes, or the login
// was withdrawn): set by each page (staff pages show their login again, member pages log in anew).
// Once a minute at most, so a token refused at once again cannot reload the page in a loop.
let whenSignedOut = null;
export function onSignedOut(handler) {
  whenSignedOut = handler;
}

function signedOut() {
  const last = Number(sessionStorage.getItem("unionhub.signed_out_at") || 0);
  if (!whenSignedOut || Date.now() - last < 60000) return;
  sessionStorage.setItem("unionhub.signed_out_at", String(Date.now()));
  whenSignedOut();
}

export async function api(method, path, { body, token, headers = {} } = {}) {
  const init = {
    method,
    headers: { Accept: "application/json", "Accept-Language": LANG, ...headers },
    credentials: "omit",
    cache: "no-store",
  };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, { detail: t("error.network") });
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.blob();
  if (response.status === 401 && token) signedOut();
  if (!response.ok) throw new ApiError(response.status, type.includes("json") ? data : null);
  return data;
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- forms ----------------------------------------------------------------------------------------
export function formValues(form) {
  const values = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    values[element.name] = element.type === "checkbox" ? element.checked : element.value.trim();
  }
  return values;
}

export function clearErrors(form) {
  for (const slot of $$("[data-error-for]", form)) slot.textContent = "";
  for (const input of $$("[aria-invalid]", form)) input.removeAttribute("aria-invalid");
  notice("");
}

// The API's problem+json names each bad field and says why in the page's language: the message goes
// beside its field; whatever has no field on this form goes to the notice at the top.
export function showProblem(error, form = null) {
  if (!(error instanceof ApiError)) {
    notice(String(error));
    return;
  }
  const unplaced = [];
  for (const fieldError of error.problem.errors || []) {
    const slot = form && $(`[data-error-for="${CSS.escape(fieldError.field)}"]`, form);
    if (slot) {
      slot.textContent = fieldError.message;
      const input = form.elements[fieldError.field];
      if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    } else {
      unplaced.push(fieldError.message);
    }
  }
  if (!error.problem.errors?.length || unplaced.length) {
    notice([error.status === 401 ? t("error.session") : error.message, ...unplaced].join(" "));
  }
}

// Runs an async action once at a time: a second tap while the first is under way does nothing.
export function busy(button, action) {
  return async (event) => {
    event?.preventDefault();
    if (button.disabled) return;
    const label = button.textContent;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.textContent = t("busy");
    try {
      await action(event);
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      button.textContent = label;
    }
  };
}

// ---- logins ---------------------------------------------------------------------------------------
// Staff: username and password, one login per page kind (till, admin).
export function staffLogin(name, onToken) {
  const section = $("#login");
  const form = $("#login-form");
  const token = session.get(name);
  if (token) {
    onToken(token);
    return;
  }
  show(section);
  const button = $("button[type=submit]", form);
  form.addEventListener(
    "submit",
    busy(button, async () => {
      clearErrors(form);
      try {
        const answer = await api("POST", "/api/v1/auth/staff/login", { body: formValues(form) });
        session.set(name, answer.access_token, answer.expires_in);
        form.reset();
        show(section, false);
        onToken(answer.access_token);
      } catch (error) {
        showProblem(error, form);
      }
    }),
  );
}

export function logout(name) {
  session.clear(name);
  location.reload();
}

// A worker in a phone browser has no wx.login. Where the deployment allows it (the local WeChat
// fake), the page logs in with a code of this device's own, kept in localStorage so the same phone
// is the same person; elsewhere it answers null and the page sends the worker to the mini-app.
export async function deviceLogin() {
  const cached = session.get("member");
  if (cached) return { access_token: cached, member_id: sessionStorage.getItem("unionhub.member_id") };
  if (document.body.dataset.deviceLogin !== "true") return null;
  let code = localStorage.getItem("unionhub.device");
  if (!code) {
    code = `h5-${newKey()}`;
    localStorage.setItem("unionhub.device", code);
  }
  try {
    const answer = await api("POST", "/api/v1/auth/wechat", { body: { code } });
    session.set("member", answer.access_token, answer.expires_in);
    if (answer.member_id) sessionStorage.setItem("unionhub.member_id", answer.member_id);
    else sessionStorage.removeItem("unionhub.member_id"); // no longer a member: not the old one's id
    return answer;
  } catch (error) {
    if (error.status === 0 || error.status >= 500) throw error;
    return null; // WeChat refused the device's code: only the mini-app can log this worker in
  }
}

// ---- camera scanning ------------------------------------------------------------------------------
// BarcodeDetector where the browser has it (Chrome on Android), else jsQR over the camera's frames
// (loaded as a classic script by the page), else typing the code.
export function scanner(root, onText) {
  const start = $("[data-scan-start]", root);
  const stop = $("[data-scan-stop]", root);
  const video = $("[data-scan-video]", root);
  let stream = null;
  let timer = null;

  async function decoder() {
    if ("BarcodeDetector" in window) {
      const formats = await window.BarcodeDetector.getSupportedFormats?.();
      if (!formats || formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async () => (await detector.detect(video))[0]?.rawValue;
      }
    }
    if (window.jsQR) {
      const canvas = document.createElement("canvas");
      const context = canvas.getContext("2d", { willReadFrequently: true });
      return async () => {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        if (!canvas.width) return null;
        context.drawImage(video, 0, 0);
        const frame = context.getImageData(0, 0, canvas.width, canvas.height);
        return window.jsQR(frame.data, frame.width, frame.height)?.data;
      };
    }
    return null;
  }

  function halt() {
    clearInterval(timer);
    timer = null;
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  }

  start.addEventListener("click", async () => {
    const detect = await decoder();
    if (!detect || !navigator.mediaDevices?.getUserMedia) {
      notice(t("scan.unsupported"));
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch {
      notice(t("scan.denied"));
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    start.hidden = true;
    stop.hidden = false;
    await video.play();
    timer = setInterval(async () => {
      try {
        const text = await detect();
        if (text) {
          halt();
          onText(text);
        }
      } catch {
        /* a frame that could not be read: try the next */
      }
    }, 250);
  });
  stop.addEventListener("click", halt);
  return { stop: halt };
}

export function yuan(fen) {
  return (fen / 100).toFixed(2);
}

export function fen(yuanText) {
  const match = /^\s*(\d{1,7})(?:\.(\d{1,2}))?\s*$/.exec(yuanText);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "").padEnd(2, "0"));
}

export function localTime(iso) {
  return new Date(iso).toLocaleString(LANG, { timeZone: "Asia/Shanghai", hour12: false });
}

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "on") for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}
