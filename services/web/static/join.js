// The H5 join page: the campaign a poster names, the worker's login, the SMS code, the real-name
// form with the API's field errors beside their fields, then the member card with its rotating QR.
import qrcode from "/app/vendor/qrcode-generator/dist/qrcode.mjs";
import {
  $, api, ApiError, busy, clearErrors, deviceLogin, formValues, logout, newKey, notice, onSignedOut, session, show,
  showProblem, t,
} from "/app/static/app.js";

// A token past its 15 minutes (the card page stays open for hours): log in again, as on arrival.
onSignedOut(() => logout("member"));

const code = $("#main").dataset.code;
let token = null;

async function loadCampaign() {
  try {
    const campaign = await api("GET", `/api/v1/join/${encodeURIComponent(code)}`);
    $("#branch-name").textContent = campaign.branch;
    $("#campaign-name").textContent = campaign.site ? `${campaign.campaign} · ${campaign.site}` : campaign.campaign;
    show("#campaign-facts");
    show("#campaign-approval", campaign.requires_approval);
    return true;
  } catch (error) {
    notice(error instanceof ApiError && (error.status === 410 || error.status === 404) ? t("join.gone") : error.message);
    return false;
  } finally {
    show("#campaign-loading", false);
  }
}

function wireForm() {
  const form = $("#join-form");
  const sendButton = $("#send-code");
  sendButton.addEventListener(
    "click",
    busy(sendButton, async () => {
      clearErrors(form);
      try {
        const sent = await api("POST", "/api/v1/join/sms-code", { token, body: { mobile: form.elements.mobile.value.trim() } });
        const hint = $("#code-sent");
        hint.textContent = t("join.code_sent", { s: sent.expires_in });
        show(hint);
        form.elements.sms_code.focus();
      } catch (error) {
        showProblem(error, form);
      }
    }),
  );

  // One Idempotency-Key per form content: a retry after a lost answer is the same join; a
  // corrected form is a new request.
  let sent = { body: null, key: null };
  const submit = $("#join-submit");
  form.addEventListener(
    "submit",
    busy(submit, async () => {
      clearErrors(form);
      const body = { campaign_code: code, ...formValues(form) };
      const text = JSON.stringify(body);
      if (sent.body !== text) sent = { body: text, key: newKey() };
      try {
        const joined = await api("POST", "/api/v1/join", { token, body, headers: { "Idempotency-Key": sent.key } });
        token = joined.access_token;
        session.set("member", joined.access_token, joined.expires_in);
        sessionStorage.setItem("unionhub.member_id", joined.member_id);
        form.reset();
        show("#join", false);
        await showCard();
      } catch (error) {
        showProblem(error, form);
      }
    }),
  );
}

function drawQr(text) {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const canvas = $("#card-qr");
  const modules = qr.getModuleCount();
  const quiet = 4;
  const size = canvas.width;
  const cell = Math.floor(size / (modules + 2 * quiet));
  const offset = Math.floor((size - cell * modules) / 2);
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, size, size);
  context.fillStyle = "#000";
  for (let row = 0; row < modules; row++) {
    for (let col = 0; col < modules; col++) {
      if (qr.isDark(row, col)) context.fillRect(offset + col * cell, offset + row * cell, cell, cell);
    }
  }
  canvas.dataset.token = text; // what the QR says, for tests and for a reader that cannot see it
}

let refreshTimer = null;
let countdownTimer = null;

// The code is valid about a minute and accepted once; a fresh one is fetched 10 s before expiry, so
// the QR on screen is always one a till will take.
async function refreshCard() {
  clearTimeout(refreshTimer);
  clearInterval(countdownTimer);
  const expires = $("#card-expires");
  expires.textContent = t("card.refreshing");
  let card;
  try {
    card = await api("GET", "/api/v1/members/me/card/token", { token });
  } catch (error) {
    showProblem(error);
    refreshTimer = setTimeout(refreshCard, 10000);
    return;
  }
  drawQr(card.token);
  const renewAt = Date.now() + Math.max(card.expires_in - 10, 5) * 1000;
  const tick = () => {
    expires.textContent = t("card.expires", { s: Math.max(0, Math.round((renewAt - Date.now()) / 1000)) });
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
  refreshTimer = setTimeout(refreshCard, renewAt - Date.now());
}

async function showCard() {
  const me = await api("GET", "/api/v1/members/me", { token });
  $("#card-no").textContent = me.card_no;
  $("#card-status").textContent = t(`status.${me.status}`);
  show("#card");
  if (me.status === "active") await refreshCard();
  else show("#card-qr", false);
}

document.addEventListener("visibilitychange", () => {
  // A phone that slept missed its timer: renew as soon as the card is looked at again.
  if (!document.hidden && !$("#card").hidden && !$("#card-qr").hidden) refreshCard();
});

async function main() {
  if (!(await loadCampaign())) return;
  let login;
  try {
    login = await deviceLogin();
  } catch (error) {
    showProblem(error);
    return;
  }
  if (!login) {
    show("#miniapp");
    return;
  }
  token = login.access_token;
  if (login.member_id) {
    await showCard().catch((error) => showProblem(error));
    return;
  }
  wireForm();
  show("#join");
}

main();
