// The till: staff log in, pick one of their stores, scan or type the member's card code, see the
// offer for the bill, confirm once. One Idempotency-Key per sale: a double tap, or a retry after a
// lost answer, sends the same key with the same body, and merchants answers the same redemption.
import {
  $, api, busy, clearErrors, element, fen, localTime, logout, newKey, notice, scanner, show, showProblem,
  staffLogin, t, yuan,
} from "/app/static/app.js";

let token = null;
let sale = { body: null, key: null };
const form = $("#sale-form");

function storeId() {
  return $("#store").value;
}

function saleBody() {
  const amount = fen(form.elements.amount.value);
  return { card_token: form.elements.card_token.value.trim(), store_id: storeId(), amount_fen: amount ?? -1 };
}

async function loadStores() {
  const stores = await api("GET", "/api/v1/redemptions/stores", { token });
  const select = $("#store");
  select.replaceChildren(
    ...stores.map((s) => element("option", { value: s.id }, `${s.merchant_name} · ${s.name}`)),
  );
  const saved = sessionStorage.getItem("unionhub.till.store");
  if (stores.some((s) => s.id === saved)) select.value = saved;
  show("#no-stores", stores.length === 0);
  show(form, stores.length > 0);
  return stores.length > 0;
}

async function loadToday() {
  if (!storeId()) return;
  const rows = await api("GET", `/api/v1/redemptions?store_id=${encodeURIComponent(storeId())}`, { token });
  const body = $("#today-rows");
  if (!rows.length) {
    body.replaceChildren(element("tr", {}, element("td", { colspan: 5 }, t("empty"))));
    return;
  }
  body.replaceChildren(
    ...rows.map((r) => {
      const reversed = r.reversed_fen >= r.amount_fen;
      const action = reversed
        ? t("till.reversed")
        : element("button", { type: "button", class: "secondary", "data-redemption": r.id }, t("till.reverse"));
      if (!reversed) action.addEventListener("click", busy(action, () => reverse(r.id)));
      return element(
        "tr",
        {},
        element("td", {}, localTime(r.created_at)),
        element("td", {}, r.offer_title),
        element("td", { class: "num" }, yuan(r.amount_fen)),
        element("td", { class: "num" }, yuan(r.discount_fen)),
        element("td", {}, action),
      );
    }),
  );
}

async function reverse(redemptionId) {
  if (!confirm(t("till.reverse_confirm"))) return;
  try {
    // One key per redemption: reversing it in full twice is the same reversal.
    await api("POST", `/api/v1/redemptions/${redemptionId}/reversal`, {
      token,
      body: {},
      headers: { "Idempotency-Key": `reverse-${redemptionId}` },
    });
    await loadToday();
  } catch (error) {
    showProblem(error);
  }
}

async function quote() {
  clearErrors(form);
  const amount = fen(form.elements.amount.value);
  if (amount === null || amount <= 0) {
    $('[data-error-for="amount_fen"]', form).textContent = t("till.amount_invalid");
    form.elements.amount.setAttribute("aria-invalid", "true");
    return;
  }
  try {
    const q = await api(
      "GET",
      `/api/v1/redemptions/quote?store_id=${encodeURIComponent(storeId())}&amount_fen=${amount}`,
      { token },
    );
    $("#quote-offer").textContent = q.offer_title ?? t("till.no_offer");
    $("#quote-discount").textContent = `${yuan(q.discount_fen)} ${t("yuan")}`;
    $("#quote-payable").textContent = `${yuan(q.payable_fen)} ${t("yuan")}`;
    show("#quote-box");
  } catch (error) {
    showProblem(error, form);
  }
}

async function confirmSale() {
  clearErrors(form);
  const body = saleBody();
  const text = JSON.stringify(body);
  if (sale.body !== text) sale = { body: text, key: newKey() };
  try {
    const done = await api("POST", "/api/v1/redemptions", {
      token,
      body,
      headers: { "Idempotency-Key": sale.key },
    });
    $("#result-offer").textContent = done.offer_title;
    $("#result-card").textContent = done.card_no ?? "";
    $("#result-discount").textContent = `${yuan(done.discount_fen)} ${t("yuan")}`;
    $("#result-payable").textContent = `${yuan(done.payable_fen)} ${t("yuan")}`;
    show(form, false);
    show("#result");
    await loadToday();
  } catch (error) {
    if (error.status === 401) logout("till");
    showProblem(error, form);
  }
}

function nextSale() {
  sale = { body: null, key: null };
  form.reset();
  show("#quote-box", false);
  show("#result", false);
  show(form);
  notice("");
  form.elements.card_token.focus();
}

async function start(accessToken) {
  token = accessToken;
  show("#till");
  try {
    if (await loadStores()) await loadToday();
  } catch (error) {
    if (error.status === 401 || error.status === 403) logout("till");
    showProblem(error);
  }
}

$("#store").addEventListener("change", () => {
  sessionStorage.setItem("unionhub.till.store", storeId());
  nextSale();
  loadToday().catch(showProblem);
});
$("#logout").addEventListener("click", () => logout("till"));
$("#quote").addEventListener("click", busy($("#quote"), quote));
form.addEventListener("submit", busy($("#confirm"), confirmSale));
$("#next").addEventListener("click", nextSale);
$("#refresh").addEventListener("click", busy($("#refresh"), () => loadToday().catch(showProblem)));
form.elements.amount.addEventListener("input", () => show("#quote-box", false));
scanner($("[data-scanner]", form), (text) => {
  form.elements.card_token.value = text;
  form.elements.amount.focus();
});

staffLogin("till", start);
